"""How the simple /api/v1 API answers: a completion whole or as Server-Sent Events, and an
answer inside a stored conversation."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import StreamingResponse

from parley.api.completion_http import (
    event_stream,
    render_sse,
    sse_comment,
    sse_data,
    unless_disconnected,
)
from parley.api.simple_schemas import ChatRequest, StreamEvent, UsageInfo
from parley.chat.completions import (
    Completion,
    CompletionFailed,
    CompletionRequest,
    CompletionService,
)
from parley.chat.live.service import ChatService
from parley.models import User
from parley.protocol import (
    AnswerEvent,
    AnswerTracker,
    ChunkFrame,
    EndFrame,
    ErrorFrame,
    Finished,
    Piece,
    StartFrame,
    StatusFrame,
    ThinkingFrame,
    ToolCallMade,
)

log = logging.getLogger(__name__)


class _SimpleDialect:
    """/api/v1's events: start, thinking, chunk, then end or error."""

    def __init__(self, model: str) -> None:
        self._model = model

    def opening(self) -> Iterable[str]:
        yield sse_data(StreamEvent(type="start", model=self._model))

    def piece(self, piece: Piece) -> str:
        kind: Literal["thinking", "chunk"] = "thinking" if piece.channel == "thinking" else "chunk"
        return sse_data(StreamEvent(type=kind, content=piece.text))

    def tool_call(self, made: ToolCallMade) -> Iterable[str]:
        # /api/v1 offers the model no tools, so none of its answers calls one.
        return ()

    def finished(self, finished: Finished) -> Iterable[str]:
        usage = UsageInfo.of([finished])
        yield sse_data(StreamEvent(type="end", usage=usage, finish_reason=finished.finish_reason))

    def failed(self, error: CompletionFailed | None) -> str:
        if error is None:
            content, code = "The answer failed on the server.", "internal_error"
        else:
            content, code = error.message, error.code
        return sse_data(StreamEvent(type="error", content=content, code=code))

    def closing(self) -> Iterable[str]:
        return ()


async def stream(
    completions: CompletionService, request: CompletionRequest, user: User
) -> StreamingResponse:
    # Refusals (model loading, bad options) are plain HTTP errors, before the stream starts.
    pending = await completions.prepare(request, await completions.admit(user.id))
    return event_stream(render_sse(completions.stream(pending), _SimpleDialect(pending.model)))


async def complete(
    completions: CompletionService, request: CompletionRequest, user: User, http: Request
) -> Completion:
    started = time.monotonic()
    pending = await completions.prepare(request, await completions.admit(user.id))
    return await unless_disconnected(http, completions.collect(pending, started))


async def ask(
    chat: ChatService, user: User, body: ChatRequest, tracker: AnswerTracker
) -> AsyncIterator[AnswerEvent]:
    """The answer's events in the named conversation; refusals raised before it starts."""
    assert body.conversation_id is not None and body.message is not None
    events = chat.ask(user.id, body.conversation_id, body.message, body.send_options(), tracker)
    first = await anext(events)

    async def rest() -> AsyncIterator[AnswerEvent]:
        yield first
        async for event in events:
            yield event

    return rest()


async def conversation_stream_events(events: AsyncIterator[AnswerEvent]) -> AsyncIterator[str]:
    async for event in events:
        match event:
            case StatusFrame():
                yield sse_comment(event.state)
            case StartFrame():
                yield sse_data(StreamEvent(type="start", message_id=event.message_id))
            case ThinkingFrame():
                yield sse_data(StreamEvent(type="thinking", content=event.content))
            case ChunkFrame():
                yield sse_data(StreamEvent(type="chunk", content=event.content))
            case EndFrame():
                yield sse_data(
                    StreamEvent(
                        type="end",
                        message_id=event.message_id,
                        usage=UsageInfo.of_usage(event.usage),
                        finish_reason=event.finish_reason,
                    )
                )
            case ErrorFrame():
                yield sse_data(StreamEvent(type="error", content=event.message, code=event.code))


STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/event-stream": {
                "example": 'data: {"type": "start", "content": ""}\n\n'
                'data: {"type": "chunk", "content": "Hello"}\n\n'
                'data: {"type": "end", "content": "", "finish_reason": "stop"}\n\n'
            }
        },
        "description": "Server-Sent Events: start, thinking*, chunk*, then end (or error).",
    }
}
