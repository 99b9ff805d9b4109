"""The HTTP side of a remote OpenAI-compatible server: its model list, its tokenizer, and one
streamed `/chat/completions`, read as Server-Sent Events.

Failures come out as two kinds, because they mean different things to a user:
`RemoteUnavailable` before the remote has accepted the request (unreachable, refusing, busy
past the retries), `RemoteStreamFailed` once it has (dropped, stalled, an error event). A
remote's error body is summarised to one short line, never passed on raw.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from parley.protocol import ToolCall, Usage

log = logging.getLogger(__name__)

# 429 and 503 mean "busy now": retried before the first token, never after it.
RETRYABLE_STATUSES = frozenset({429, 503})
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0)
# Longest wait a remote's Retry-After may ask for before we give up instead.
MAX_RETRY_AFTER_S = 10.0
CONNECT_TIMEOUT_S = 5.0
CHECK_TIMEOUT_S = 5.0
_SUMMARY_CHARS = 200
_MARKUP = re.compile(r"<[^>]*>|\x1b\[[0-9;?]*[A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RemoteUnavailable(Exception):
    """The remote could not take the request; `message` is safe to show a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RemoteStreamFailed(Exception):
    """An accepted stream broke off; `message` is safe to show a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class RemoteModel:
    """What a remote's /v1/models says about one model."""

    id: str
    # vLLM's `max_model_len` (or a `context_length`), when the remote says.
    context_length: int | None


@dataclass(frozen=True, slots=True)
class ToolCallPiece:
    """A piece of a streamed call (`delta.tool_calls[i]`): the call's `index`, and whatever
    of its id, name and arguments text this chunk carries (None: no index given)."""

    index: int | None
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class StreamDelta:
    """One streamed chunk: reasoning text (from a reasoning field), answer text, pieces of
    tool calls, and at the end a finish reason and the usage."""

    reasoning: str = ""
    content: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    tool_calls: tuple[ToolCallPiece, ...] = ()


@dataclass(slots=True)
class _CallParts:
    id: str = ""
    name: str = ""
    arguments: str = ""


class ToolCallAssembler:
    """Streamed call pieces joined into whole calls, the way OpenAI's clients join them: by
    `index`, the id and name from the first piece that has them, the arguments text appended.
    A server that gives no index (some do, sending each call whole) starts a new call with
    each new id."""

    def __init__(self) -> None:
        self._calls: dict[int, _CallParts] = {}

    def add(self, piece: ToolCallPiece) -> None:
        index = piece.index
        if index is None:
            last = max(self._calls, default=None)
            if last is None:
                index = 0
            elif piece.id and piece.id != self._calls[last].id:
                index = last + 1
            else:
                index = last
        parts = self._calls.setdefault(index, _CallParts())
        parts.id = parts.id or piece.id
        parts.name = parts.name or piece.name
        parts.arguments += piece.arguments

    def calls(self, new_id: Callable[[], str]) -> list[ToolCall]:
        """The calls in index order (ones that never got a name left out, logged); a call
        that got no id is given `new_id()`."""
        whole: list[ToolCall] = []
        for index in sorted(self._calls):
            parts = self._calls[index]
            if not parts.name:
                log.warning("a remote's tool call %d had no function name; left out", index)
                continue
            whole.append(ToolCall(parts.id or new_id(), parts.name, parts.arguments or "{}"))
        return whole


def summarise_error(status: int | None, body: bytes | str) -> str:
    """One short line for a user out of a remote's error answer: the status and the message the
    body gives (OpenAI `{"error": {"message"}}`, `{"error": "..."}`, `{"detail"}` or
    `{"message"}`), without markup, escape sequences or anything past 200 characters. A body
    that is not JSON (an HTML error page, a stack trace) gives only the status."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    message = ""
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        for key in ("error", "detail", "message"):
            value = parsed.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("msg") or value.get("detail")
            if isinstance(value, str) and value.strip():
                message = value
                break
    message = _MARKUP.sub(" ", message)
    message = re.sub(r"\s+", " ", _CONTROL.sub(" ", message)).strip()
    if len(message) > _SUMMARY_CHARS:
        message = message[: _SUMMARY_CHARS - 1] + "…"
    if status is None:
        return message or "no details given"
    reason = httpx.codes.get_reason_phrase(status)
    head = f"HTTP {status} {reason}" if reason else f"HTTP {status}"
    return f"{head}: {message}" if message else head


def _remote_models(payload: Any) -> list[RemoteModel]:
    data = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(data, list):
        raise ValueError("no model list")
    models = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        length = item.get("max_model_len", item.get("context_length"))
        models.append(
            RemoteModel(item["id"], length if type(length) is int and length > 0 else None)
        )
    return models


def _chunk_delta(payload: Any) -> StreamDelta:
    """The parts of a chat.completion.chunk Parley uses; raises RemoteStreamFailed for an
    error event (vLLM and Parley send `{"error": ...}` inside the stream)."""
    if not isinstance(payload, dict):
        raise RemoteStreamFailed("The remote model sent something that is not a chunk.")
    if "error" in payload:
        summary = summarise_error(None, json.dumps(payload))
        raise RemoteStreamFailed(f"The remote model failed mid-answer ({summary}).")
    reasoning = content = ""
    finish: str | None = None
    calls: list[ToolCallPiece] = []
    for choice in payload.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta") or {}
        if isinstance(delta, dict):
            # SGLang, llama.cpp, DeepSeek: reasoning_content; vLLM (2026) and Ollama: reasoning.
            for key in ("reasoning_content", "reasoning"):
                if isinstance(delta.get(key), str):
                    reasoning += delta[key]
            if isinstance(delta.get("content"), str):
                content += delta["content"]
            calls.extend(_call_pieces(delta.get("tool_calls")))
        if isinstance(choice.get("finish_reason"), str):
            finish = choice["finish_reason"]
    usage = payload.get("usage")
    parsed_usage = None
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if type(prompt) is int and type(completion) is int:
            parsed_usage = Usage(prompt, completion)
    return StreamDelta(reasoning, content, finish, parsed_usage, tuple(calls))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _call_pieces(pieces: Any) -> list[ToolCallPiece]:
    """`delta.tool_calls` as pieces; anything not shaped like one is skipped."""
    out: list[ToolCallPiece] = []
    for piece in pieces if isinstance(pieces, list) else ():
        if not isinstance(piece, dict):
            continue
        function = piece.get("function")
        function = function if isinstance(function, dict) else {}
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            # Ollama sends the arguments as an object rather than JSON text.
            arguments = json.dumps(arguments, ensure_ascii=False)
        index = piece.get("index")
        out.append(
            ToolCallPiece(
                index if type(index) is int and index >= 0 else None,
                _text(piece.get("id")),
                _text(function.get("name")),
                _text(arguments),
            )
        )
    return out


async def _server_sent_data(response: httpx.Response) -> AsyncIterator[str]:
    """The `data` of each event of an SSE stream (comments and other fields skipped)."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


class OpenAIClient:
    """One connection pool to one remote, `base_url` ending in /v1."""

    def __init__(self, base_url: str, *, api_key: str | None, idle_timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # The read timeout is the idle timeout: no byte for that long and the read fails.
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(idle_timeout_s, connect=CONNECT_TIMEOUT_S),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
            trust_env=False,
        )
        # None until the first try; then whether the remote has vLLM's /tokenize.
        self._has_tokenize: bool | None = None

    @property
    def _root(self) -> str:
        """The server root: vLLM serves /tokenize beside /v1, not under it."""
        return self.base_url.removesuffix("/v1")

    async def models(self) -> list[RemoteModel]:
        """The remote's /v1/models; raises RemoteUnavailable with the reason."""
        try:
            response = await self._http.get(f"{self.base_url}/models", timeout=CHECK_TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise RemoteUnavailable(
                f"The remote is unreachable ({_transport_reason(exc)})."
            ) from exc
        if response.status_code != 200:
            summary = summarise_error(response.status_code, response.content)
            raise RemoteUnavailable(f"The remote answered /models with {summary}.")
        try:
            return _remote_models(response.json())
        except ValueError as exc:
            raise RemoteUnavailable("The remote's /models answer is not a model list.") from exc

    async def count_prompt_tokens(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] = (),
    ) -> int | None:
        """The prompt's tokens by the remote's own template and tokenizer (vLLM's /tokenize,
        which renders `tools` too), or None where the remote has no such route or cannot
        answer now."""
        if self._has_tokenize is False:
            return None
        body: dict[str, Any] = {
            "model": model,
            "messages": list(messages),
            "add_generation_prompt": True,
        }
        if tools:
            body["tools"] = list(tools)
        try:
            response = await self._http.post(
                f"{self._root}/tokenize", json=body, timeout=CHECK_TIMEOUT_S
            )
        except httpx.HTTPError:
            return None
        if response.status_code in (404, 405, 501):
            self._has_tokenize = False
            return None
        if response.status_code != 200:
            return None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        count = payload.get("count") if isinstance(payload, dict) else None
        if type(count) is not int:
            tokens = payload.get("tokens") if isinstance(payload, dict) else None
            count = len(tokens) if isinstance(tokens, list) else None
        # llama.cpp's llama-server has a /tokenize of its own that reads `content`, not
        # messages, and answers no tokens for this body: not a count.
        if count is None or count <= 0:
            self._has_tokenize = False
            return None
        self._has_tokenize = True
        return count

    @asynccontextmanager
    async def chat_stream(
        self, body: Mapping[str, Any], *, cancelled: asyncio.Event
    ) -> AsyncIterator[AsyncIterator[StreamDelta] | None]:
        """Open a streamed /chat/completions, retrying 429/503 with backoff (the remote has
        produced nothing yet). Gives None when `cancelled` was set while waiting; raises
        RemoteUnavailable when the remote cannot take it. The deltas end as soon as `cancelled`
        is set, a read in progress abandoned. Leaving the block closes the HTTP stream, which
        is how vLLM, SGLang and llama.cpp learn to stop generating."""
        response = await self._open(body, cancelled)
        if response is None:
            yield None
            return
        deltas = _until_set(self._deltas(response), cancelled)
        try:
            yield deltas
        finally:
            await deltas.aclose()
            await response.aclose()

    async def _open(
        self, body: Mapping[str, Any], cancelled: asyncio.Event
    ) -> httpx.Response | None:
        url = f"{self.base_url}/chat/completions"
        for attempt in range(len(RETRY_DELAYS_S) + 1):
            if cancelled.is_set():
                return None
            response = await self._send(url, body, cancelled)
            if response is None:
                return None
            if response.status_code == 200:
                return response
            try:
                content = await response.aread()
            except httpx.HTTPError:
                content = b""
            finally:
                await response.aclose()
            summary = summarise_error(response.status_code, content)
            if response.status_code not in RETRYABLE_STATUSES:
                raise RemoteUnavailable(f"The remote model refused the request ({summary}).")
            if attempt == len(RETRY_DELAYS_S):
                break
            delay = _retry_delay(response, RETRY_DELAYS_S[attempt])
            if delay is None:
                break
            log.info("remote %s busy (%s); retrying in %.1fs", self.base_url, summary, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(cancelled.wait(), timeout=delay)
        raise RemoteUnavailable(f"The remote model is busy ({summary}); try again shortly.")

    async def _send(
        self, url: str, body: Mapping[str, Any], cancelled: asyncio.Event
    ) -> httpx.Response | None:
        """The response's head, or None on a stop before it came (connecting, or queued at
        the remote): giving the request up closes its connection."""
        request = self._http.build_request("POST", url, json=body)
        sending = asyncio.ensure_future(self._http.send(request, stream=True))
        stop = asyncio.ensure_future(cancelled.wait())
        await asyncio.wait({sending, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not sending.done():
            sending.cancel()
            try:
                late = await sending
            except (asyncio.CancelledError, httpx.HTTPError):
                return None
            await late.aclose()  # it came in as we gave up
            return None
        try:
            return sending.result()
        except httpx.HTTPError as exc:
            reason = _transport_reason(exc)
            raise RemoteUnavailable(f"The remote model is unreachable ({reason}).") from exc

    async def _deltas(self, response: httpx.Response) -> AsyncGenerator[StreamDelta]:
        finished = False
        try:
            async for data in _server_sent_data(response):
                if data.strip() == "[DONE]":
                    finished = True
                    break
                try:
                    payload = json.loads(data)
                except ValueError as exc:
                    raise RemoteStreamFailed(
                        "The remote model sent a chunk that is not JSON."
                    ) from exc
                delta = _chunk_delta(payload)
                finished = finished or delta.finish_reason is not None
                yield delta
        except httpx.ReadTimeout as exc:
            raise RemoteStreamFailed("The remote model stopped sending (idle timeout).") from exc
        except httpx.HTTPError as exc:
            reason = _transport_reason(exc)
            raise RemoteStreamFailed(
                f"The connection to the remote model broke ({reason})."
            ) from exc
        if not finished:
            raise RemoteStreamFailed("The remote model's stream ended before the answer did.")

    async def close(self) -> None:
        await self._http.aclose()


async def _until_set(
    deltas: AsyncGenerator[StreamDelta], cancelled: asyncio.Event
) -> AsyncGenerator[StreamDelta]:
    """The deltas until they end or `cancelled` is set, whichever comes first."""
    stop = asyncio.ensure_future(cancelled.wait())
    try:
        while not cancelled.is_set():
            step = asyncio.ensure_future(anext(deltas))
            await asyncio.wait({step, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                step.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await step
                return
            try:
                delta = step.result()
            except StopAsyncIteration:
                return
            yield delta
    finally:
        stop.cancel()
        await deltas.aclose()


def _retry_delay(response: httpx.Response, backoff_s: float) -> float | None:
    """The remote's Retry-After when it gives one in seconds (None: longer than we wait),
    else our own backoff."""
    header = response.headers.get("retry-after", "")
    try:
        asked = float(header)
    except ValueError:
        return backoff_s
    return None if asked > MAX_RETRY_AFTER_S else max(asked, 0.0)


def _transport_reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "no connection within the connect timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unreachable"
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the remote closed the connection"
    return type(exc).__name__
