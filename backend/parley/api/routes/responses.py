"""OpenAI's Responses API under /v1/responses: a stateless completion (the same bounds,
admission, prompt fitting and engines as /v1/chat/completions) in the Response object's shape,
or streamed as its typed events, each with its `sequence_number`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from parley.api.completion_http import event_stream, render_sse, sse_data, unless_disconnected
from parley.api.deps import CompletionsDep, CurrentUser
from parley.api.errors import http_status
from parley.api.responses_schemas import (
    FunctionCallItem,
    OutputMessage,
    OutputText,
    ReasoningItem,
    ReasoningText,
    ResponseCreateRequest,
    ResponseObject,
)
from parley.chat.completions import CompletionFailed
from parley.protocol import Finished, Piece, TextChannel, ToolCallMade

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible (/v1)"])


class _OpenText:
    """The output item being streamed: thinking (a reasoning item) or answer (a message)."""

    def __init__(self, channel: TextChannel, index: int) -> None:
        self.channel = channel
        self.index = index
        self.item: ReasoningItem | OutputMessage = (
            ReasoningItem(status="in_progress")
            if channel == "thinking"
            else OutputMessage(status="in_progress")
        )
        self.text: list[str] = []

    def part(self) -> dict[str, Any]:
        text = "".join(self.text)
        if self.channel == "thinking":
            return ReasoningText(text=text).model_dump()
        return OutputText(text=text).model_dump()

    def finished_item(self) -> ReasoningItem | OutputMessage:
        if isinstance(self.item, ReasoningItem):
            content: Any = [ReasoningText(text="".join(self.text))]
        else:
            content = [OutputText(text="".join(self.text))]
        return self.item.model_copy(update={"status": "completed", "content": content})


def _text_extras(channel: TextChannel) -> dict[str, Any]:
    # An answer's text events carry (empty) logprobs, as OpenAI's do; reasoning's do not.
    return {} if channel == "thinking" else {"logprobs": []}


class ResponsesDialect:
    """A Response's typed events: `response.created` and `response.in_progress`; for each
    output item `response.output_item.added`, its content (`response.content_part.added`,
    the text's or reasoning's deltas and done, `response.content_part.done`) or a call's
    arguments, then `response.output_item.done`; at the end `response.completed` (or
    `response.incomplete`, `response.failed`) with the whole Response."""

    def __init__(self, response: ResponseObject) -> None:
        self.response = response
        self._sequence = 0
        self._open: _OpenText | None = None

    def _event(self, kind: str, **fields: Any) -> str:
        payload = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return f"event: {kind}\n{sse_data(payload)}"

    def _response_event(self, kind: str) -> str:
        return self._event(kind, response=self.response.model_dump(mode="json"))

    def opening(self) -> Iterable[str]:
        yield self._response_event("response.created")
        yield self._response_event("response.in_progress")

    def _delta_kind(self, channel: TextChannel) -> str:
        return "response.reasoning_text" if channel == "thinking" else "response.output_text"

    def _open_text(self, channel: TextChannel) -> Iterator[str]:
        opened = _OpenText(channel, len(self.response.output))
        self._open = opened
        self.response.output.append(opened.item)
        yield self._event(
            "response.output_item.added",
            output_index=opened.index,
            item=opened.item.model_dump(mode="json"),
        )
        yield self._event(
            "response.content_part.added",
            item_id=opened.item.id,
            output_index=opened.index,
            content_index=0,
            part=opened.part(),
        )

    def _close_text(self) -> Iterator[str]:
        opened, self._open = self._open, None
        if opened is None:
            return
        where = {"item_id": opened.item.id, "output_index": opened.index, "content_index": 0}
        extra = _text_extras(opened.channel)
        done = f"{self._delta_kind(opened.channel)}.done"
        yield self._event(done, **where, text="".join(opened.text), **extra)
        yield self._event("response.content_part.done", **where, part=opened.part())
        item = opened.finished_item()
        self.response.output[opened.index] = item
        yield self._event(
            "response.output_item.done", output_index=opened.index, item=item.model_dump()
        )

    def piece(self, piece: Piece) -> str:
        events: list[str] = []
        if self._open is None or self._open.channel != piece.channel:
            events.extend(self._close_text())
            events.extend(self._open_text(piece.channel))
        opened = self._open
        assert opened is not None
        opened.text.append(piece.text)
        extra = _text_extras(piece.channel)
        events.append(
            self._event(
                f"{self._delta_kind(piece.channel)}.delta",
                item_id=opened.item.id,
                output_index=opened.index,
                content_index=0,
                delta=piece.text,
                **extra,
            )
        )
        return "".join(events)

    def tool_call(self, made: ToolCallMade) -> Iterable[str]:
        yield from self._close_text()
        item = FunctionCallItem.of(made.call)
        index = len(self.response.output)
        self.response.output.append(item)
        opening = item.model_copy(update={"status": "in_progress", "arguments": ""})
        yield self._event(
            "response.output_item.added", output_index=index, item=opening.model_dump()
        )
        where = {"item_id": item.id, "output_index": index}
        yield self._event("response.function_call_arguments.delta", **where, delta=item.arguments)
        yield self._event(
            "response.function_call_arguments.done",
            **where,
            name=item.name,
            arguments=item.arguments,
        )
        yield self._event("response.output_item.done", output_index=index, item=item.model_dump())

    def finished(self, finished: Finished) -> Iterable[str]:
        yield from self._close_text()
        if not self.response.output or isinstance(self.response.output[-1], ReasoningItem):
            # An answer of nothing is still a message, as in a non-streamed Response.
            yield from self._open_text("answer")
            yield from self._close_text()
        self.response.finish(finished)
        kind = (
            "response.incomplete" if self.response.status == "incomplete" else "response.completed"
        )
        yield self._response_event(kind)

    def failed(self, error: CompletionFailed | None) -> str:
        events = list(self._close_text())
        self.response.status = "failed"
        if error is None:
            self.response.error = {"code": "server_error", "message": "The answer failed."}
        else:
            self.response.error = {"code": error.code, "message": error.message}
            self.response.error["status"] = http_status(error)
        events.append(self._response_event("response.failed"))
        return "".join(events)

    def closing(self) -> Iterable[str]:
        return ()


@router.post(
    "/responses",
    response_model=ResponseObject,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "A Response, or with `stream: true` its typed events "
            "(`response.created` ... `response.completed`).",
        },
        400: {"description": "A parameter this server does not support (`param` names it)"},
        404: {"description": "model_not_found"},
        503: {"description": "model_not_loaded"},
    },
)
async def create_response(
    body: ResponseCreateRequest, user: CurrentUser, completions: CompletionsDep, request: Request
) -> ResponseObject | StreamingResponse:
    """Answer `input` (a text, or message and function-call items) after `instructions`."""
    body.check_supported()
    wanted = body.completion_request()
    started = time.monotonic()
    pending = await completions.prepare(wanted, await completions.admit(user.id))
    response = ResponseObject.started(body, pending.model)
    if body.stream:
        return event_stream(render_sse(completions.stream(pending), ResponsesDialect(response)))
    result = await unless_disconnected(request, completions.collect(pending, started))
    return response.completed_with(result)
