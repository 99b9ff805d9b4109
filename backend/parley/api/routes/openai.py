"""OpenAI-compatible routes under /v1: models and chat completions (streaming and not).

Reasoning goes in `reasoning_content` (of the message, and of the stream deltas), the answer
in `content`. Errors use OpenAI's shape (see api/errors.py). Stateless.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from parley.api.completion_http import event_stream, refusal_error, sse_comment, sse_data
from parley.api.deps import CompletionsDep, CurrentUser
from parley.api.errors import ApiError, openai_error_body
from parley.chat.completions import (
    CompletionFailed,
    CompletionRefused,
    CompletionRequest,
    CompletionService,
    PendingCompletion,
)
from parley.chat.generation import GenerationOptions
from parley.engine.base import ChatTurn
from parley.protocol import Finished, FinishReason, Piece, Prefilling, Queued

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible (/v1)"])

MAX_STOP_SEQUENCES = 4


# ---------- bodies ----------


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["text"]
    text: str


class OpenAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatTemplateArguments(BaseModel):
    """vLLM's way to turn thinking off: `chat_template_kwargs: {"enable_thinking": false}`."""

    model_config = ConfigDict(extra="allow")

    enable_thinking: bool | None = None


class ChatCompletionRequest(BaseModel):
    # Fields this server does not use (user, logprobs, ...) are accepted and ignored.
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": "scripted",
                    "messages": [
                        {"role": "system", "content": "You are helpful."},
                        {"role": "user", "content": "Hello!"},
                    ],
                    "max_completion_tokens": 200,
                    "temperature": 0.7,
                    "stream": False,
                }
            ]
        },
    )

    model: str = Field(min_length=1, max_length=200)
    messages: list[OpenAIMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = Field(1, ge=1, le=1, description="Only one choice is generated.")
    chat_template_kwargs: ChatTemplateArguments | None = None

    def stop_sequences(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        stops = [self.stop] if isinstance(self.stop, str) else self.stop
        return tuple(stop for stop in stops if stop)

    def completion_request(self) -> CompletionRequest:
        system = "\n\n".join(m.text() for m in self.messages if m.role in ("system", "developer"))
        turns = [
            ChatTurn("user" if m.role == "user" else "assistant", m.text())
            for m in self.messages
            if m.role in ("user", "assistant")
        ]
        kwargs = self.chat_template_kwargs
        return CompletionRequest(
            turns=turns,
            system_prompt=system,
            options=GenerationOptions(
                max_tokens=self.max_completion_tokens or self.max_tokens,
                temperature=self.temperature,
                top_p=self.top_p,
                thinking=kwargs.enable_thinking if kwargs else None,
                stop=self.stop_sequences(),
                seed=self.seed,
            ),
            model=self.model,
        )


# ---------- answers ----------


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, finish: Finished) -> CompletionUsage:
        usage = finish.usage
        return cls(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
        )


OpenAIFinishReason = Literal["stop", "length"]


def _openai_finish(reason: FinishReason) -> OpenAIFinishReason:
    return "length" if reason == "length" else "stop"


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    reasoning_content: str | None = None


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: OpenAIFinishReason


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    # Sent as null until the last chunk, so it is not left out of the JSON.
    finish_reason: OpenAIFinishReason | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None


class ModelObject(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "parley"


class ModelListObject(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelObject]


# ---------- routes ----------

_SERVER_STARTED = int(time.time())


@router.get("/models", response_model=ModelListObject)
async def list_models(_user: CurrentUser, completions: CompletionsDep) -> ModelListObject:
    return ModelListObject(
        data=[
            ModelObject(id=status.id, created=_SERVER_STARTED)
            for status in completions.model_statuses()
        ]
    )


def _chunk_json(chunk: ChatCompletionChunk) -> str:
    # exclude_none would drop `finish_reason: null`, which clients expect on every chunk.
    payload: dict[str, Any] = chunk.model_dump()
    for choice in payload["choices"]:
        choice["delta"] = {k: v for k, v in choice["delta"].items() if v is not None}
    if payload["usage"] is None:
        del payload["usage"]
    return sse_data(payload)


async def _stream_chunks(
    completions: CompletionService, pending: PendingCompletion, include_usage: bool
) -> AsyncIterator[str]:
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def chunk(
        delta: ChunkDelta,
        finish_reason: OpenAIFinishReason | None = None,
    ) -> str:
        return _chunk_json(
            ChatCompletionChunk(
                id=completion_id,
                created=created,
                model=pending.model,
                choices=[ChunkChoice(delta=delta, finish_reason=finish_reason)],
            )
        )

    yield chunk(ChunkDelta(role="assistant", content=""))
    try:
        async for event in completions.stream(pending):
            if isinstance(event, Piece):
                if event.channel == "thinking":
                    yield chunk(ChunkDelta(reasoning_content=event.text))
                else:
                    yield chunk(ChunkDelta(content=event.text))
            elif isinstance(event, Queued):
                yield sse_comment("queued")
            elif isinstance(event, Prefilling):
                yield sse_comment("prefill")
            elif isinstance(event, Finished):
                yield chunk(ChunkDelta(), _openai_finish(event.finish_reason))
                if include_usage:
                    yield _chunk_json(
                        ChatCompletionChunk(
                            id=completion_id,
                            created=created,
                            model=pending.model,
                            choices=[],
                            usage=CompletionUsage.of(event),
                        )
                    )
    except CompletionFailed as exc:
        yield sse_data(openai_error_body(502, "generation_failed", exc.message))
    except Exception:
        log.exception("streamed chat completion failed")
        yield sse_data(openai_error_body(500, "internal_error", "The answer failed."))
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
        404: {"description": "model_not_found"},
        503: {"description": "model_not_loaded"},
    },
)
async def chat_completions(
    body: ChatCompletionRequest, _user: CurrentUser, completions: CompletionsDep
) -> ChatCompletion | StreamingResponse:
    if not any(m.role == "user" for m in body.messages):
        raise ApiError(422, "invalid_value", "messages must include a user message.")
    if body.stop is not None and len(body.stop_sequences()) > MAX_STOP_SEQUENCES:
        raise ApiError(422, "invalid_value", f"stop takes at most {MAX_STOP_SEQUENCES} strings.")
    started = time.monotonic()
    try:
        pending = await completions.prepare(body.completion_request())
    except CompletionRefused as refusal:
        error = refusal_error(refusal)
        if error.status_code == 404:
            error = ApiError(404, "model_not_found", refusal.message)
        raise error from refusal
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        return event_stream(_stream_chunks(completions, pending, include_usage))
    try:
        result = await completions.collect(pending, started)
    except CompletionFailed as exc:
        raise ApiError(502, "generation_failed", exc.message) from exc
    return ChatCompletion(
        id=f"chatcmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=result.model,
        choices=[
            Choice(
                message=AssistantMessage(
                    content=result.answer, reasoning_content=result.thinking or None
                ),
                finish_reason=_openai_finish(result.finish.finish_reason),
            )
        ],
        usage=CompletionUsage.of(result.finish),
    )
