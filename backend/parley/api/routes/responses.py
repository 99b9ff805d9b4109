"""OpenAI's Responses API under /v1/responses: a completion (the same bounds, admission,
prompt fitting and engines as /v1/chat/completions) in the Response object's shape, or
streamed as its typed events, each with its `sequence_number`; stored for its user unless
`store: false` (GET, DELETE, `input_items`, `previous_response_id`), or run in the background
by chat/responses.py's service and followed from any sequence number."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from parley.api.completion_http import (
    event_stream,
    sse_comment,
    sse_data,
    unless_disconnected,
)
from parley.api.deps import CompletionsDep, CurrentUser, ResponsesDep
from parley.api.errors import http_status
from parley.api.openai_refusals import UnsupportedParameter
from parley.api.responses_schemas import (
    DeletedResponse,
    FunctionCallItem,
    InputItemList,
    OutputMessage,
    OutputText,
    ReasoningItem,
    ReasoningText,
    ResponseCreateRequest,
    ResponseObject,
    SummaryText,
)
from parley.chat.completions import CompletionEvent, CompletionFailed
from parley.chat.responses import ENDED, ResponseRefused, ResponseService
from parley.protocol import Finished, Piece, TextChannel, ToolCallMade

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible (/v1)"])


class _OpenText:
    """The output item being streamed: thinking (a reasoning item) or answer (a message).
    Thinking streams as a reasoning summary's text where the request asked for summaries,
    else as the reasoning item's own text."""

    def __init__(self, channel: TextChannel, index: int, *, summarized: bool) -> None:
        self.channel = channel
        self.index = index
        self.summarized = summarized and channel == "thinking"
        self.item: ReasoningItem | OutputMessage = (
            ReasoningItem(status="in_progress")
            if channel == "thinking"
            else OutputMessage(status="in_progress")
        )
        self.text: list[str] = []

    @property
    def kind(self) -> str:
        """The events' stem: `<kind>.delta`, `<kind>.done`, and the part's `<part>.added`."""
        if self.channel == "answer":
            return "response.output_text"
        return "response.reasoning_summary_text" if self.summarized else "response.reasoning_text"

    @property
    def part_kind(self) -> str:
        return "response.reasoning_summary_part" if self.summarized else "response.content_part"

    def where(self) -> dict[str, Any]:
        index = "summary_index" if self.summarized else "content_index"
        return {"item_id": self.item.id, "output_index": self.index, index: 0}

    def part(self) -> dict[str, Any]:
        text = "".join(self.text)
        if self.summarized:
            return SummaryText(text=text).model_dump()
        if self.channel == "thinking":
            return ReasoningText(text=text).model_dump()
        return OutputText(text=text).model_dump()

    def finished_item(self) -> ReasoningItem | OutputMessage:
        text = "".join(self.text)
        if isinstance(self.item, ReasoningItem):
            done = ReasoningItem.of(text, summarized=self.summarized)
            return done.model_copy(update={"id": self.item.id})
        return self.item.model_copy(
            update={"status": "completed", "content": [OutputText(text=text)]}
        )


def _text_extras(channel: TextChannel) -> dict[str, Any]:
    # An answer's text events carry (empty) logprobs, as OpenAI's do; reasoning's do not.
    return {} if channel == "thinking" else {"logprobs": []}


Event = dict[str, Any]


class ResponseEvents:
    """A Response's typed events: `response.created` and `response.in_progress`; for each
    output item `response.output_item.added`, its content (`response.content_part.added`,
    the text's or reasoning's deltas and done, `response.content_part.done`) or a call's
    arguments, then `response.output_item.done`; at the end `response.completed` (or
    `response.incomplete`, `response.failed`) with the whole Response. `response` is kept
    up to date as they are made."""

    def __init__(self, response: ResponseObject) -> None:
        self.response = response
        self._sequence = 0
        self._open: _OpenText | None = None

    def _event(self, kind: str, **fields: Any) -> Event:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def _response_event(self, kind: str) -> Event:
        return self._event(kind, response=self.response.model_dump(mode="json"))

    def opening(self) -> Iterator[Event]:
        # A background response is created queued; it is in progress once it runs.
        yield self._response_event("response.created")
        self.response.status = "in_progress"
        yield self._response_event("response.in_progress")

    def _open_text(self, channel: TextChannel) -> Iterator[Event]:
        summarized = self.response.summarizes_thinking
        opened = _OpenText(channel, len(self.response.output), summarized=summarized)
        self._open = opened
        self.response.output.append(opened.item)
        yield self._event(
            "response.output_item.added",
            output_index=opened.index,
            item=opened.item.model_dump(mode="json"),
        )
        yield self._event(f"{opened.part_kind}.added", **opened.where(), part=opened.part())

    def _close_text(self) -> Iterator[Event]:
        opened, self._open = self._open, None
        if opened is None:
            return
        where = opened.where()
        extra = _text_extras(opened.channel)
        yield self._event(f"{opened.kind}.done", **where, text="".join(opened.text), **extra)
        yield self._event(f"{opened.part_kind}.done", **where, part=opened.part())
        item = opened.finished_item()
        self.response.output[opened.index] = item
        yield self._event(
            "response.output_item.done", output_index=opened.index, item=item.model_dump()
        )

    def piece(self, piece: Piece) -> Iterator[Event]:
        if self._open is None or self._open.channel != piece.channel:
            yield from self._close_text()
            yield from self._open_text(piece.channel)
        opened = self._open
        assert opened is not None
        opened.text.append(piece.text)
        yield self._event(
            f"{opened.kind}.delta",
            **opened.where(),
            delta=piece.text,
            **_text_extras(piece.channel),
        )

    def tool_call(self, made: ToolCallMade) -> Iterator[Event]:
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

    def finished(self, finished: Finished) -> Iterator[Event]:
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

    def failed(self, error: CompletionFailed | None) -> Iterator[Event]:
        """`error` None: an unexpected server error, whose details stay in the log."""
        yield from self._close_text()
        self.response.status = "failed"
        if error is None:
            self.response.error = {"code": "server_error", "message": "The answer failed."}
        else:
            self.response.error = {"code": error.code, "message": error.message}
            self.response.error["status"] = http_status(error)
        yield self._response_event("response.failed")


async def response_events(
    stream: AsyncIterator[CompletionEvent], events: ResponseEvents
) -> AsyncIterator[Event | None]:
    """A completion's events as a Response's; None while it waits (queued, prefilling). A
    failure is the last event, since a stream's 200 status has gone out already."""
    for event in events.opening():
        yield event
    try:
        async for made in stream:
            if isinstance(made, Piece):
                for event in events.piece(made):
                    yield event
            elif isinstance(made, ToolCallMade):
                for event in events.tool_call(made):
                    yield event
            elif isinstance(made, Finished):
                for event in events.finished(made):
                    yield event
            else:
                yield None
    except CompletionFailed as exc:
        for event in events.failed(exc):
            yield event
    except Exception:
        log.exception("streamed response failed")
        for event in events.failed(None):
            yield event


async def render(events: AsyncIterator[Event | None]) -> AsyncIterator[str]:
    """Events as Server-Sent Events, named by their type; a wait as a comment that keeps
    proxies from timing the stream out."""
    async for event in events:
        if event is None:
            yield sse_comment("waiting")
        else:
            yield f"event: {event['type']}\n{sse_data(event)}"


class BackgroundResponse:
    """A background response's run (chat/responses.py's BackgroundJob)."""

    def __init__(self, stream: AsyncIterator[CompletionEvent], response: ResponseObject) -> None:
        self._stream = stream
        self._events = ResponseEvents(response)

    async def events(self) -> AsyncGenerator[Event]:
        async for event in response_events(self._stream, self._events):
            if event is not None:
                yield event

    def snapshot(self) -> Event:
        return self._events.response.model_dump(mode="json")


async def _stored_then(
    events: AsyncIterator[Event | None],
    responses: ResponseService,
    owner_id: str,
    response: ResponseObject,
    input_items: list[Event],
) -> AsyncIterator[Event | None]:
    """A streamed response's events; the response is stored once they have all been sent."""
    async for event in events:
        yield event
    await responses.save(owner_id, response.model_dump(mode="json"), input_items)


async def _history(
    responses: ResponseService, owner_id: str, previous_response_id: str | None
) -> list[Event]:
    """The items of the response continued: its input items (its own history first) and its
    output."""
    if previous_response_id is None:
        return []
    param = "previous_response_id"
    previous = await responses.get(owner_id, previous_response_id, param=param)
    if previous.body["status"] not in ENDED:
        raise ResponseRefused("The previous response has not finished yet.", param=param)
    return [*previous.input_items, *previous.body["output"]]


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
        404: {"description": "model_not_found, or no such `previous_response_id`"},
        503: {"description": "model_not_loaded"},
    },
)
async def create_response(
    body: ResponseCreateRequest,
    user: CurrentUser,
    completions: CompletionsDep,
    responses: ResponsesDep,
    request: Request,
) -> ResponseObject | StreamingResponse:
    """Answer `input` (a text, or message and function-call items) after `instructions` and
    the response `previous_response_id` names."""
    body.check_supported()
    history = await _history(responses, user.id, body.previous_response_id)
    wanted = body.completion_request(history)
    started = time.monotonic()
    pending = await completions.prepare(wanted, await completions.admit(user.id))
    response = ResponseObject.started(body, pending.model)
    input_items = [*history, *body.stored_input()]
    if body.background:
        job = BackgroundResponse(completions.stream(pending), response)
        await responses.start(user.id, input_items, job)
        if body.stream:
            return event_stream(render(await responses.follow(user.id, response.id, after=-1)))
        return ResponseObject.model_validate(job.snapshot())
    if body.stream:
        events = response_events(completions.stream(pending), ResponseEvents(response))
        if body.store:
            events = _stored_then(events, responses, user.id, response, input_items)
        return event_stream(render(events))
    result = await unless_disconnected(request, completions.collect(pending, started))
    response.completed_with(result)
    if body.store:
        await responses.save(user.id, response.model_dump(mode="json"), input_items)
    return response


@router.get(
    "/responses/{response_id}",
    response_model=ResponseObject,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "The Response as it stands, or with `stream=true` a background "
            "response's events after `starting_after`, then each as it is made.",
        },
        404: {"description": "No such response of this user"},
    },
)
async def get_response(
    response_id: str,
    user: CurrentUser,
    responses: ResponsesDep,
    stream: bool = False,
    starting_after: Annotated[int | None, Query(ge=0)] = None,
) -> ResponseObject | StreamingResponse:
    """A stored response; a background one can be streamed again from any sequence number."""
    if stream:
        after = -1 if starting_after is None else starting_after
        return event_stream(render(await responses.follow(user.id, response_id, after)))
    if starting_after is not None:
        raise UnsupportedParameter(
            "starting_after", "starting_after is read only with stream=true."
        )
    return ResponseObject.model_validate((await responses.get(user.id, response_id)).body)


@router.delete("/responses/{response_id}", responses={404: {"description": "No such response"}})
async def delete_response(
    response_id: str, user: CurrentUser, responses: ResponsesDep
) -> DeletedResponse:
    """Delete a stored response (a background one still running is cancelled first)."""
    await responses.delete(user.id, response_id)
    return DeletedResponse(id=response_id)


@router.post(
    "/responses/{response_id}/cancel",
    response_model=ResponseObject,
    responses={
        400: {"description": "Not a background response"},
        404: {"description": "No such response"},
    },
)
async def cancel_response(
    response_id: str, user: CurrentUser, responses: ResponsesDep
) -> ResponseObject:
    """Stop a background response; one that has ended is answered as it is."""
    return ResponseObject.model_validate(await responses.cancel(user.id, response_id))


@router.get(
    "/responses/{response_id}/input_items",
    responses={404: {"description": "No such response"}},
)
async def list_input_items(
    response_id: str,
    user: CurrentUser,
    responses: ResponsesDep,
    after: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
) -> InputItemList:
    """The items a stored response was made from (those of the responses it continues,
    then its input), `limit` at a time after the item `after`."""
    items = (await responses.get(user.id, response_id)).input_items
    return InputItemList.page(items, after=after, limit=limit, descending=order == "desc")
