"""What the completion routes (/api/v1 and /v1) share: Server-Sent Events that reach the
client as they are made."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import Any, Protocol, TypeVar, runtime_checkable

from fastapi import Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from parley.api.errors import ApiError
from parley.chat.completions import CompletionEvent, CompletionFailed, Logprobs
from parley.protocol import Finished, Piece, Prefilling, Queued, ToolCallMade

log = logging.getLogger(__name__)

T = TypeVar("T")

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    # nginx and friends must pass each event on at once rather than buffer the answer.
    "X-Accel-Buffering": "no",
}


# How often a non-streaming answer checks that its client is still there.
DISCONNECT_POLL_S = 0.5


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Await `work` for the client of `request`, cancelling it if the client goes away first:
    an answer nobody will read stops generating (and gives its user's place back)."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL_S)
            if done:
                return task.result()
            if await request.is_disconnected():
                log.info("client of %s went away; its answer is cancelled", request.url.path)
                raise ApiError(499, "client_closed_request", "The client went away.")
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def sse_data(payload: BaseModel | dict[str, Any] | str) -> str:
    if isinstance(payload, BaseModel):
        text = payload.model_dump_json(exclude_none=True)
    elif isinstance(payload, dict):
        text = json.dumps(payload, ensure_ascii=False)
    else:
        text = payload
    return f"data: {text}\n\n"


def sse_comment(text: str) -> str:
    """A line clients ignore; keeps proxies from timing out while a request waits."""
    return f": {text}\n\n"


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)


class SseDialect(Protocol):
    """How one API spells a streamed answer's events (/api/v1 and /v1 differ)."""

    def opening(self) -> Iterable[str]: ...
    def piece(self, piece: Piece) -> str: ...
    def tool_call(self, made: ToolCallMade) -> Iterable[str]: ...
    def finished(self, finished: Finished) -> Iterable[str]: ...
    def failed(self, error: CompletionFailed | None) -> str:
        """`error` None: an unexpected server error, whose details stay in the log."""
        ...

    def closing(self) -> Iterable[str]: ...


@runtime_checkable
class SendsLogprobs(Protocol):
    """A dialect that sends log probabilities (/v1's chat completions); it holds them for the
    chunk that sends their text. The others never ask for them."""

    def hold_logprobs(self, logprobs: Logprobs) -> None: ...


async def render_sse(
    events: AsyncIterator[CompletionEvent], dialect: SseDialect
) -> AsyncIterator[str]:
    """A completion's events as Server-Sent Events; a failure becomes the stream's last event,
    since the 200 status has gone out already."""
    for line in dialect.opening():
        yield line
    try:
        async for event in events:
            if isinstance(event, Piece):
                yield dialect.piece(event)
            elif isinstance(event, Logprobs) and isinstance(dialect, SendsLogprobs):
                dialect.hold_logprobs(event)
            elif isinstance(event, ToolCallMade):
                for line in dialect.tool_call(event):
                    yield line
            elif isinstance(event, Queued):
                yield sse_comment("queued")
            elif isinstance(event, Prefilling):
                yield sse_comment("prefill")
            elif isinstance(event, Finished):
                for line in dialect.finished(event):
                    yield line
    except CompletionFailed as exc:
        yield dialect.failed(exc)
    except Exception:
        log.exception("streamed completion failed")
        yield dialect.failed(None)
    for line in dialect.closing():
        yield line
