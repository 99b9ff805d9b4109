"""What the completion routes (/api/v1 and /v1) share: Server-Sent Events that reach the
client as they are made."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol

from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from parley.chat.completions import CompletionEvent, CompletionFailed
from parley.protocol import Finished, Piece, Prefilling, Queued

log = logging.getLogger(__name__)

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    # nginx and friends must pass each event on at once rather than buffer the answer.
    "X-Accel-Buffering": "no",
}


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
    def finished(self, finished: Finished) -> Iterable[str]: ...
    def failed(self, error: CompletionFailed | None) -> str:
        """`error` None: an unexpected server error, whose details stay in the log."""
        ...

    def closing(self) -> Iterable[str]: ...


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
            elif isinstance(event, Queued):
                yield sse_comment("queued")
            elif isinstance(event, Prefilling):
                yield sse_comment("prefill")
            else:
                for line in dialect.finished(event):
                    yield line
    except CompletionFailed as exc:
        yield dialect.failed(exc)
    except Exception:
        log.exception("streamed completion failed")
        yield dialect.failed(None)
    for line in dialect.closing():
        yield line
