"""A small Python client for scripts: log in or use an API key, manage conversations, chat.

    from parley.client import ParleyClient

    with ParleyClient("http://127.0.0.1:8000", api_key="pk-...") as parley:
        conversation = parley.create_conversation(title="notes")
        print(parley.chat(conversation.id, "Hello!").content)
        for event in parley.stream(conversation.id, "Tell me more"):
            ...  # ThinkingFrame, ChunkFrame, then EndFrame (or ErrorFrame)

`AsyncParleyClient` has the same methods as coroutines and async iterators. Events are the
WebSocket frames of parley.protocol; conversations are the shapes of parley.models.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx
from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as async_connect
from websockets.sync.client import ClientConnection as SyncConnection
from websockets.sync.client import connect as sync_connect

from parley.protocol import (
    HTTP_STATUS,
    AnswerEvent,
    AnswerTracker,
    AuthFrame,
    ChatAnswer,
    ConversationDetail,
    ConversationPage,
    ConversationPublic,
    EndFrame,
    ErrorFrame,
    ErrorKind,
    ParleyError,
    ReadyFrame,
    SendFrame,
    SendOptions,
    ServerFrame,
    StopFrame,
    server_frame_adapter,
)

DEFAULT_TIMEOUT_S = 60.0


# The kind of each HTTP status the server answers (the first kind where several share one).
_STATUS_KINDS: dict[int, ErrorKind] = {}
for _kind, _status in HTTP_STATUS.items():
    _STATUS_KINDS.setdefault(_status, _kind)


class RequestRefused(ParleyError):
    """The server refused a request: the server's own ParleyError as it came over the wire,
    with the HTTP `status` it answered (catch `ParleyError` for any of them)."""

    def __init__(
        self, status: int, code: str, message: str, *, retry_after_s: int | None = None
    ) -> None:
        kind = _STATUS_KINDS.get(status, "internal")
        super().__init__(message, code=code, kind=kind, retry_after_s=retry_after_s)
        self.status = status

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


@dataclass
class ReplayTracker:
    """Decides when a resumed stream has caught up: every missed event, and the answer that
    was running (if one was) to its end."""

    ready: ReadyFrame
    after_seq: int

    def __post_init__(self) -> None:
        active = self.ready.active_run
        self._waiting_for = active.message_id if active else None
        self._caught_up = self.after_seq >= self.ready.last_seq

    @property
    def done(self) -> bool:
        return self._caught_up and self._waiting_for is None

    def feed(self, frame: ServerFrame) -> bool:
        """True once nothing more is to come."""
        if isinstance(frame, EndFrame | ErrorFrame) and frame.message_id == self._waiting_for:
            self._waiting_for = None
        seq = getattr(frame, "seq", None)
        if isinstance(seq, int) and seq >= self.ready.last_seq:
            self._caught_up = True
        return self.done


def _raise_for_status(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        detail: Any = response.json().get("detail")
    except ValueError:
        detail = None
    retry_after = response.headers.get("retry-after", "")
    retry_after_s = int(retry_after) if retry_after.isdigit() else None
    if isinstance(detail, dict):
        code, message = str(detail.get("code")), str(detail.get("message"))
    else:
        code, message = "error", str(detail or response.text)
    raise RequestRefused(response.status_code, code, message, retry_after_s=retry_after_s)


def _auth_frame(credential: str, after_seq: int | None) -> str:
    return AuthFrame(type="auth", token=credential, after_seq=after_seq).model_dump_json(
        exclude_none=True
    )


def _send_frame(content: str, client_id: str, options: SendOptions | None) -> str:
    return SendFrame(
        type="send", content=content, client_id=client_id, options=options or SendOptions()
    ).model_dump_json(exclude_none=True)


def _ready(raw: str | bytes) -> ReadyFrame:
    frame = server_frame_adapter.validate_json(raw)
    if isinstance(frame, ErrorFrame):
        raise RequestRefused(400, frame.code, frame.message)
    if not isinstance(frame, ReadyFrame):
        raise RequestRefused(502, "protocol_error", f"expected ready, got {frame.type}")
    return frame


class _ClientBase:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credential = api_key or token
        scheme, rest = self.base_url.split("://", 1)
        self.ws_base = ("wss" if scheme == "https" else "ws") + "://" + rest

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._need_credential()}"}

    def _socket_url(self, conversation_id: str) -> str:
        return f"{self.ws_base}/ws/conversations/{conversation_id}"

    def _need_credential(self) -> str:
        if self.credential is None:
            raise RequestRefused(401, "not_authenticated", "log in or give an API key first")
        return self.credential


# ---------- synchronous ----------


class AnswerStream:
    """The frames of one answer as they arrive; `stop()` cancels it (it then ends with an
    `end` whose finish_reason is `cancelled`)."""

    def __init__(self, socket: SyncConnection, tracker: AnswerTracker) -> None:
        self._socket = socket
        self.tracker = tracker

    def __iter__(self) -> Iterator[AnswerEvent]:
        try:
            while not self.tracker.done:
                event = self.tracker.feed(server_frame_adapter.validate_json(self._socket.recv()))
                if event is not None:
                    yield event
        finally:
            self._socket.close()

    def stop(self) -> None:
        self._socket.send(StopFrame(type="stop").model_dump_json())


class ParleyClient(_ClientBase):
    """Blocking client. Use as a context manager, or call close()."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        super().__init__(base_url, token=token, api_key=api_key)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        headers = self._headers() if auth else {}
        response = self._http.request(method, path, json=body, headers=headers)
        _raise_for_status(response)
        return response.json() if response.content else None

    def login(self, username: str, password: str) -> str:
        answer = self._request(
            "POST", "/api/auth/login", {"username": username, "password": password}, auth=False
        )
        self.credential = str(answer["access_token"])
        return self.credential

    def list_conversations(self, limit: int = 50) -> list[ConversationPublic]:
        page = self._request("GET", f"/api/conversations?limit={limit}")
        return ConversationPage.model_validate(page).items

    def create_conversation(
        self, title: str | None = None, system_prompt: str | None = None, model: str | None = None
    ) -> ConversationPublic:
        body = {"title": title, "system_prompt": system_prompt, "model": model}
        created = self._request("POST", "/api/conversations", body)
        return ConversationPublic.model_validate(created)

    def get_conversation(self, conversation_id: str) -> ConversationDetail:
        detail = self._request("GET", f"/api/conversations/{conversation_id}")
        return ConversationDetail.model_validate(detail)

    def stream(
        self,
        conversation_id: str,
        content: str,
        options: SendOptions | None = None,
        client_id: str | None = None,
    ) -> AnswerStream:
        """Send a message and follow its answer (iterate the result)."""
        credential = self._need_credential()
        # Entered here and left by AnswerStream when the answer is over.
        socket = sync_connect(self._socket_url(conversation_id), max_size=None).__enter__()
        socket.send(_auth_frame(credential, None))
        _ready(socket.recv())
        tracker = AnswerTracker(client_id or str(uuid.uuid4()))
        socket.send(_send_frame(content, tracker.client_id, options))
        return AnswerStream(socket, tracker)

    def chat(
        self, conversation_id: str, content: str, options: SendOptions | None = None
    ) -> ChatAnswer:
        """Send a message and wait for the whole answer."""
        stream = self.stream(conversation_id, content, options)
        for _ in stream:
            pass
        return stream.tracker.answer()

    def resume(self, conversation_id: str, after_seq: int) -> Iterator[ServerFrame]:
        """Every event after `after_seq`, then the running answer (if any) to its end."""
        with sync_connect(self._socket_url(conversation_id), max_size=None) as socket:
            socket.send(_auth_frame(self._need_credential(), after_seq))
            tracker = ReplayTracker(_ready(socket.recv()), after_seq)
            while not tracker.done:
                frame = server_frame_adapter.validate_json(socket.recv())
                tracker.feed(frame)
                yield frame


# ---------- asynchronous ----------


class AsyncAnswerStream:
    """The frames of one answer as they arrive; `await stop()` cancels it."""

    def __init__(self, socket: AsyncConnection, tracker: AnswerTracker) -> None:
        self._socket = socket
        self.tracker = tracker

    async def __aiter__(self) -> AsyncIterator[AnswerEvent]:
        try:
            while not self.tracker.done:
                raw = await self._socket.recv()
                event = self.tracker.feed(server_frame_adapter.validate_json(raw))
                if event is not None:
                    yield event
        finally:
            await self._socket.close()

    async def stop(self) -> None:
        await self._socket.send(StopFrame(type="stop").model_dump_json())


class AsyncParleyClient(_ClientBase):
    """The same calls as ParleyClient, for asyncio code."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        super().__init__(base_url, token=token, api_key=api_key)
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        headers = self._headers() if auth else {}
        response = await self._http.request(method, path, json=body, headers=headers)
        _raise_for_status(response)
        return response.json() if response.content else None

    async def login(self, username: str, password: str) -> str:
        answer = await self._request(
            "POST", "/api/auth/login", {"username": username, "password": password}, auth=False
        )
        self.credential = str(answer["access_token"])
        return self.credential

    async def list_conversations(self, limit: int = 50) -> list[ConversationPublic]:
        page = await self._request("GET", f"/api/conversations?limit={limit}")
        return ConversationPage.model_validate(page).items

    async def create_conversation(
        self, title: str | None = None, system_prompt: str | None = None, model: str | None = None
    ) -> ConversationPublic:
        body = {"title": title, "system_prompt": system_prompt, "model": model}
        created = await self._request("POST", "/api/conversations", body)
        return ConversationPublic.model_validate(created)

    async def get_conversation(self, conversation_id: str) -> ConversationDetail:
        detail = await self._request("GET", f"/api/conversations/{conversation_id}")
        return ConversationDetail.model_validate(detail)

    async def stream(
        self,
        conversation_id: str,
        content: str,
        options: SendOptions | None = None,
        client_id: str | None = None,
    ) -> AsyncAnswerStream:
        socket = await async_connect(self._socket_url(conversation_id), max_size=None)
        await socket.send(_auth_frame(self._need_credential(), None))
        _ready(await socket.recv())
        tracker = AnswerTracker(client_id or str(uuid.uuid4()))
        await socket.send(_send_frame(content, tracker.client_id, options))
        return AsyncAnswerStream(socket, tracker)

    async def chat(
        self, conversation_id: str, content: str, options: SendOptions | None = None
    ) -> ChatAnswer:
        stream = await self.stream(conversation_id, content, options)
        async for _ in stream:
            pass
        return stream.tracker.answer()

    async def resume(self, conversation_id: str, after_seq: int) -> AsyncIterator[ServerFrame]:
        async with async_connect(self._socket_url(conversation_id), max_size=None) as socket:
            await socket.send(_auth_frame(self._need_credential(), after_seq))
            tracker = ReplayTracker(_ready(await socket.recv()), after_seq)
            while not tracker.done:
                frame = server_frame_adapter.validate_json(await socket.recv())
                tracker.feed(frame)
                yield frame


__all__ = [
    "AnswerEvent",
    "AnswerStream",
    "AsyncAnswerStream",
    "AsyncParleyClient",
    "ChatAnswer",
    "ParleyClient",
    "ParleyError",
    "RequestRefused",
    "SendOptions",
]
