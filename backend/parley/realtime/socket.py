"""The WebSocket endpoint: origin check, authentication, limits and frame dispatch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.websockets import WebSocketState

from parley.accounts.service import AccountService, Principal
from parley.chat.errors import ChatRefused, ConversationNotFound
from parley.chat.live.channels import Close, Subscriber
from parley.chat.live.service import CLOSE_LOGGED_OUT, ChatService, Connection
from parley.config import Settings
from parley.models import new_id, utcnow
from parley.protocol import (
    AuthFrame,
    ErrorCode,
    ErrorFrame,
    ParleyError,
    PingFrame,
    PongFrame,
    QuotaExceeded,
    RegenerateFrame,
    SendFrame,
    StopFrame,
    client_frame_adapter,
    socket_code,
)
from parley.realtime.counts import SocketCounts
from parley.security import InvalidToken

log = logging.getLogger(__name__)

router = APIRouter()

AUTH_TIMEOUT_S = 10.0
# Frames are read up to this size (uvicorn's ws_max_size), so a message within the character
# limit fits in any script (32,000 characters of 4-byte UTF-8 is 128 KiB); larger ones close
# the socket with 1009.
WS_MAX_FRAME_BYTES = 1024 * 1024
CLOSE_POLICY = 1008
CLOSE_NOT_FOUND = 4404
# The user already holds PARLEY_MAX_SOCKETS_PER_USER sockets (on all instances, with Redis).
CLOSE_TOO_MANY_SOCKETS = 4429
# Checked a moment after a credential's expiry, so the check sees it expired.
EXPIRY_MARGIN_S = 0.05


def origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """Browsers send Origin; it must be this server (any scheme, as behind a TLS proxy)
    or one configured. Clients that send none (scripts) are not browsers."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    if origin in settings.allowed_origins:
        return True
    return urlsplit(origin).netloc.lower() == websocket.headers.get("host", "").lower()


class RateLimiter:
    """A token bucket: bursts up to `burst` frames, `per_second` sustained."""

    def __init__(self, burst: int, per_second: float) -> None:
        self._burst = burst
        self._rate = per_second
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


def error_frame(error: ParleyError) -> ErrorFrame:
    return ErrorFrame(code=socket_code(error), message=error.message)


def _error(code: ErrorCode, message: str) -> str:
    return ErrorFrame(code=code, message=message).model_dump_json()


async def _authenticate(
    websocket: WebSocket, accounts: AccountService
) -> tuple[AuthFrame, Principal] | None:
    """The first frame and who it speaks for, or None after closing the socket."""
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_S)
        frame = AuthFrame.model_validate_json(raw)
        principal = await accounts.authenticate(frame.token)
    except (TimeoutError, ValidationError, InvalidToken, KeyError):
        await websocket.close(CLOSE_POLICY, "authentication required")
        return None
    return frame, principal


async def _watch_credential(
    token: str,
    principal: Principal,
    accounts: AccountService,
    subscriber: Subscriber,
    interval_s: float,
) -> None:
    """Close the socket (4401) once its credential stops working: at the token's or key's
    expiry, or when a periodic re-check finds it revoked by something this process did not
    see (the CLI, another instance). Revocations made here close sockets at once."""
    while True:
        wait_s = interval_s
        if principal.expires_at is not None:
            until_expiry_s = (principal.expires_at - utcnow()).total_seconds() + EXPIRY_MARGIN_S
            wait_s = min(wait_s, max(0.0, until_expiry_s))
        await asyncio.sleep(wait_s)
        try:
            await accounts.authenticate(token)
        except InvalidToken:
            subscriber.put(Close(CLOSE_LOGGED_OUT, "credentials expired or revoked"))
            return


async def _write(websocket: WebSocket, subscriber: Subscriber) -> None:
    while True:
        item = await subscriber.queue.get()
        if isinstance(item, Close):
            await websocket.close(item.code, item.reason)
            return
        await websocket.send_text(item)


async def _read(
    websocket: WebSocket, chat: ChatService, connection: Connection, settings: Settings
) -> None:
    limiter = RateLimiter(settings.ws_rate_burst, settings.ws_rate_per_s)
    reply = connection.subscriber.put
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if not limiter.allow():
            reply(_error("rate_limited", "Too many frames; slow down."))
            continue
        if text is None:
            reply(_error("bad_request", "Frames must be JSON text."))
            continue
        try:
            frame = client_frame_adapter.validate_json(text)
        except ValidationError as exc:
            reply(_error("bad_request", _describe(exc, text)))
            continue
        try:
            match frame:
                case SendFrame():
                    await chat.send(
                        connection,
                        frame.content,
                        frame.client_id,
                        frame.options,
                        parent_id=frame.parent_id,
                        parent_given="parent_id" in frame.model_fields_set,
                        attachments=frame.attachments,
                    )
                case StopFrame():
                    await chat.stop(connection)
                case RegenerateFrame():
                    await chat.regenerate(connection, frame.options, frame.message_id)
                case PingFrame():
                    reply(PongFrame().model_dump_json())
                case AuthFrame():
                    raise ChatRefused("bad_request", "This socket is already authenticated.")
        except ConversationNotFound:
            # Deleted meanwhile (by another tab, say): gone for this socket too. The writer
            # sends the close; reading goes on until the client has it.
            reply(Close(CLOSE_NOT_FOUND, "conversation not found"))
        except ParleyError as error:
            reply(error_frame(error).model_dump_json())


def _describe(exc: ValidationError, text: str) -> str:
    try:
        json.loads(text)
    except ValueError:
        return "The frame is not valid JSON."
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"Bad frame: {where}: {first['msg']}" if where else f"Bad frame: {first['msg']}"


@router.websocket("/ws/conversations/{conversation_id}")
async def conversation_socket(websocket: WebSocket, conversation_id: str) -> None:
    state = websocket.app.state
    settings: Settings = state.settings
    chat: ChatService = state.chat
    if not origin_allowed(websocket, settings):
        await websocket.close(CLOSE_POLICY)  # before accept: the handshake is refused (403)
        return
    await websocket.accept()
    try:
        authenticated = await _authenticate(websocket, state.accounts)
        if authenticated is None:
            return
        auth, principal = authenticated
        websocket.state.user_id = principal.user.id  # for the socket's log line
    except WebSocketDisconnect:
        return
    counts: SocketCounts = state.socket_counts
    socket_id = new_id()
    if not await counts.take(principal.user.id, socket_id, settings.max_sockets_per_user):
        refusal = QuotaExceeded(
            "too_many_sockets",
            "open sockets",
            settings.max_sockets_per_user,
            "max_sockets_per_user",
        )
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.send_text(_error(socket_code(refusal), refusal.message))
            await websocket.close(CLOSE_TOO_MANY_SOCKETS, "too many sockets")
        return
    try:
        await _serve(websocket, chat, conversation_id, auth, principal, settings)
    finally:
        counts.release(principal.user.id, socket_id)


async def _serve(
    websocket: WebSocket,
    chat: ChatService,
    conversation_id: str,
    auth: AuthFrame,
    principal: Principal,
    settings: Settings,
) -> None:
    try:
        connection = await chat.connect(
            principal.user.id, conversation_id, auth.after_seq, principal.api_key_id
        )
    except ConversationNotFound:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(CLOSE_NOT_FOUND, "conversation not found")
        return
    except WebSocketDisconnect:
        return
    writer = asyncio.create_task(_write(websocket, connection.subscriber))
    reader = asyncio.create_task(_read(websocket, chat, connection, settings))
    # Not awaited below: it ends the socket through the writer, which sends its close frame.
    watcher = asyncio.create_task(
        _watch_credential(
            auth.token,
            principal,
            websocket.app.state.accounts,
            connection.subscriber,
            settings.credential_check_interval_s,
        )
    )
    try:
        await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        chat.disconnect(connection)
        for task in (writer, reader, watcher):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        if websocket.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close()
