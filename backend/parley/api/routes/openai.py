"""OpenAI-compatible routes under /v1: models, chat completions (streaming and not) and
embeddings.

Reasoning goes in `reasoning_content` (of the message, and of the stream deltas), the answer
in `content`. Errors use OpenAI's shape (see api/errors.py). Stateless.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any, NoReturn

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from starlette.routing import Match

from parley.api.completion_http import event_stream, render_sse, sse_data, unless_disconnected
from parley.api.deps import ChatDep, CompletionsDep, CurrentUser
from parley.api.embeddings_schemas import EmbeddingList, EmbeddingRequest
from parley.api.errors import ApiError, http_status, openai_error_body
from parley.api.openai_refusals import UnknownRoute
from parley.api.openai_schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChoiceLogprobs,
    ChunkChoice,
    ChunkDelta,
    ChunkFunction,
    ChunkToolCall,
    CompletionUsage,
    MessageToolCall,
    ModelListObject,
    ModelObject,
    openai_finish,
)
from parley.chat.completions import CompletionFailed, Logprobs
from parley.protocol import Finished, Piece, TokenLogprob, ToolCallMade

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible (/v1)"])


# ---------- routes ----------

_SERVER_STARTED = int(time.time())


@router.get("/models", response_model=ModelListObject)
async def list_models(_user: CurrentUser, chat: ChatDep) -> ModelListObject:
    return ModelListObject(
        data=[
            ModelObject(id=status.id, created=_SERVER_STARTED, max_model_len=status.context_length)
            for status in chat.models()
        ]
    )


@router.get("/models/{model_id:path}", response_model=ModelObject, responses={404: {}})
async def get_model(model_id: str, _user: CurrentUser, chat: ChatDep) -> ModelObject:
    """One model, as listed; an unknown id is `model_not_found`."""
    status = chat.model_status(model_id)
    return ModelObject(id=status.id, created=_SERVER_STARTED, max_model_len=status.context_length)


def _chunk_json(chunk: ChatCompletionChunk) -> str:
    # exclude_none would drop `finish_reason: null`, which clients expect on every chunk.
    payload: dict[str, Any] = chunk.model_dump(exclude={"choices"})
    payload["choices"] = [
        {
            **choice.model_dump(exclude={"delta"}),
            "delta": choice.delta.model_dump(exclude_none=True),
        }
        for choice in chunk.choices
    ]
    if payload["usage"] is None:
        del payload["usage"]
    return sse_data(payload)


class _OpenAIDialect:
    """chat.completion.chunk events, an error object on failure, and `data: [DONE]`."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self._id = f"chatcmpl-{uuid.uuid4().hex}"
        self._created = int(time.time())
        self._model = model
        self._include_usage = include_usage
        # Log probabilities for the next chunk that carries text (or the last one).
        self._logprobs: tuple[TokenLogprob, ...] = ()

    def hold_logprobs(self, logprobs: Logprobs) -> None:
        self._logprobs += logprobs.tokens

    def _held_logprobs(self) -> ChoiceLogprobs | None:
        held, self._logprobs = self._logprobs, ()
        return ChoiceLogprobs.of(held) if held else None

    def _chunk(
        self,
        choices: list[ChunkChoice],
        usage: CompletionUsage | None = None,
    ) -> str:
        chunk = ChatCompletionChunk(
            id=self._id, created=self._created, model=self._model, choices=choices, usage=usage
        )
        return _chunk_json(chunk)

    def opening(self) -> Iterable[str]:
        yield self._chunk([ChunkChoice(delta=ChunkDelta(role="assistant", content=""))])

    def piece(self, piece: Piece) -> str:
        if piece.channel == "thinking":
            delta = ChunkDelta(reasoning_content=piece.text)
        else:
            delta = ChunkDelta(content=piece.text)
        return self._chunk([ChunkChoice(delta=delta, logprobs=self._held_logprobs())])

    def tool_call(self, made: ToolCallMade) -> Iterable[str]:
        """A call in two pieces, as OpenAI streams one: its id, type and name with no
        arguments yet, then its arguments."""
        call = made.call
        opening = ChunkToolCall(
            index=made.index,
            id=call.call_id,
            type="function",
            function=ChunkFunction(name=call.name, arguments=""),
        )
        arguments = ChunkToolCall(
            index=made.index, function=ChunkFunction(arguments=call.arguments)
        )
        for piece in (opening, arguments):
            yield self._chunk([ChunkChoice(delta=ChunkDelta(tool_calls=[piece]))])

    def finished(self, finished: Finished) -> Iterable[str]:
        reason = openai_finish(finished.finish_reason)
        logprobs = self._held_logprobs()
        yield self._chunk(
            [ChunkChoice(delta=ChunkDelta(), finish_reason=reason, logprobs=logprobs)]
        )
        if self._include_usage:
            yield self._chunk([], CompletionUsage.of(finished))

    def failed(self, error: CompletionFailed | None) -> str:
        if error is None:
            return sse_data(openai_error_body(500, "internal_error", "The answer failed."))
        return sse_data(openai_error_body(http_status(error), error.code, error.message))

    def closing(self) -> Iterable[str]:
        yield sse_data("[DONE]")


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "A chat.completion, or with `stream: true` chat.completion.chunk "
            "events ending with `data: [DONE]`.",
        },
        400: {"description": "A parameter this server does not support (`param` names it)"},
        404: {"description": "model_not_found"},
        503: {"description": "model_not_loaded"},
    },
)
async def chat_completions(
    body: ChatCompletionRequest, user: CurrentUser, completions: CompletionsDep, request: Request
) -> ChatCompletion | StreamingResponse:
    body.check_supported()
    if not any(m.role == "user" for m in body.messages):
        raise ApiError(422, "invalid_value", "messages must include a user message.")
    started = time.monotonic()
    pending = await completions.prepare(body.completion_request(), await completions.admit(user.id))
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        return event_stream(
            render_sse(completions.stream(pending), _OpenAIDialect(pending.model, include_usage))
        )
    result = await unless_disconnected(request, completions.collect(pending, started))
    return ChatCompletion(
        id=f"chatcmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=result.model,
        choices=[
            Choice(
                message=AssistantMessage(
                    content=result.answer or (None if result.tool_calls else ""),
                    reasoning_content=result.thinking or None,
                    tool_calls=[MessageToolCall.of(call) for call in result.tool_calls] or None,
                ),
                finish_reason=openai_finish(result.finish.finish_reason),
                logprobs=ChoiceLogprobs.of(result.logprobs) if body.logprobs else None,
            )
        ],
        usage=CompletionUsage.of(result.finish),
    )


@router.post(
    "/embeddings",
    response_model=EmbeddingList,
    responses={
        400: {
            "description": "A model that does not embed, an input it cannot read (too long, "
            "empty, an unknown token id), or a parameter this server does not support"
        },
        404: {"description": "model_not_found"},
        503: {"description": "model_not_loaded"},
    },
)
async def embeddings(
    body: EmbeddingRequest, _user: CurrentUser, completions: CompletionsDep
) -> EmbeddingList:
    """Vectors of texts (or token ids) from a model the models file marks as embedding
    (`"embeddings": "mean"`, on llama.cpp) or a remote's, passed through."""
    body.check_supported()
    model, vectors = await completions.embed(body.model, body.inputs())
    return EmbeddingList.of(model, vectors, body.encoding_format)


def unknown_routes(*served: APIRouter) -> APIRouter:
    """A router for every /v1 path that none of `served` answers, in OpenAI's error shape
    rather than as the SPA's catch-all would; included after them (app.py)."""
    fallback = APIRouter(prefix="/v1", include_in_schema=False)

    @fallback.api_route(
        "/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        response_model=None,
    )
    async def unknown_route(path: str, request: Request) -> NoReturn:
        allowed = {
            method
            for router in served
            for route in router.routes
            if isinstance(route, APIRoute) and route.matches(request.scope)[0] == Match.PARTIAL
            for method in route.methods or ()
        }
        if allowed:
            message = f"{request.method} is not allowed on {request.url.path}."
            headers = {"Allow": ", ".join(sorted(allowed))}
            raise ApiError(405, "method_not_allowed", message, headers=headers)
        raise UnknownRoute(request.method, request.url.path)

    return fallback
