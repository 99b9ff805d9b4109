"""The simple model-service API that users bring scripts for, under /api/v1.

Shapes follow the FastAPI model services Parley replaces: /chat (with `message` + `history`
or OpenAI-style `messages`), /chat/stream (Server-Sent Events), /generate, /batch, model info
and loading. Stateless: nothing is stored. Every answer goes through the shared engine.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from parley import __version__
from parley.api.completion_http import (
    event_stream,
    refusal_error,
    sse_comment,
    sse_data,
)
from parley.api.deps import AdminUser, ChatDep, CompletionsDep, CurrentUser, SettingsDep
from parley.api.errors import ApiError, not_found
from parley.chat.answers import AnswerEvent, AnswerTracker
from parley.chat.completions import (
    Completion,
    CompletionFailed,
    CompletionRefused,
    CompletionRequest,
    CompletionService,
    PendingCompletion,
)
from parley.chat.generation import GenerationOptions
from parley.chat.service import ChatRefused, ChatService, ConversationNotFound
from parley.config import Settings
from parley.engine.base import ChatTurn
from parley.engine.manager import ModelUnavailable
from parley.models import Usage, User
from parley.protocol import Finished, Piece, Prefilling, Queued
from parley.realtime.protocol import (
    ChunkFrame,
    EndFrame,
    ErrorFrame,
    SendOptions,
    StartFrame,
    StatusFrame,
    ThinkingFrame,
)

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["simple API (/api/v1)"])


# ---------- bodies ----------


class SamplingFields(BaseModel):
    temperature: float | None = Field(None, ge=0, le=2, description="0-2; server default 0.7.")
    top_p: float | None = Field(None, gt=0, le=1, description="Nucleus sampling, (0, 1].")
    max_tokens: int | None = Field(
        None, ge=1, description="Answer length limit, 1 up to the model's context length."
    )
    thinking: bool | None = Field(
        None, description="False asks a thinking model not to think, where its template can."
    )
    model: str | None = Field(None, max_length=200, description="A model id; default if unset.")

    def generation_options(self) -> GenerationOptions:
        return GenerationOptions.chosen_in(self)


class HistoryTurn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatRequest(SamplingFields):
    """Either `message` (+ `history`, optional `system_prompt`) or `messages`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"message": "Hello, who are you?", "history": [], "temperature": 0.7},
                {
                    "messages": [
                        {"role": "system", "content": "You are a concise assistant."},
                        {"role": "user", "content": "What is machine learning?"},
                    ],
                    "temperature": 0.5,
                    "max_tokens": 300,
                    "top_p": 0.9,
                },
            ]
        }
    )

    message: str | None = Field(None, min_length=1, description="The new user message.")
    conversation_id: str | None = Field(
        None,
        max_length=100,
        description="Answer inside this conversation of yours: the message and the answer are "
        "stored and seen by its open sockets. Takes `message` alone (no history, "
        "system_prompt or model: the conversation has them).",
    )
    history: list[HistoryTurn] = Field(default_factory=list, description="Earlier turns.")
    system_prompt: str | None = None
    messages: list[ChatMessage] | None = Field(
        None, min_length=1, description="The whole conversation, OpenAI style."
    )

    @model_validator(mode="after")
    def _one_form(self) -> ChatRequest:
        if (self.message is None) == (self.messages is None):
            raise ValueError("send either 'message' (with 'history') or 'messages'")
        if self.messages is not None and not any(m.role == "user" for m in self.messages):
            raise ValueError("'messages' needs at least one user message")
        if self.conversation_id is not None and (
            self.messages is not None or self.history or self.system_prompt or self.model
        ):
            raise ValueError("with 'conversation_id', send 'message' and options only")
        return self

    def send_options(self) -> SendOptions:
        return SendOptions.model_validate(self, from_attributes=True)

    def completion_request(self) -> CompletionRequest:
        if self.messages is not None:
            system = "\n\n".join(m.content for m in self.messages if m.role == "system")
            turns = [ChatTurn(m.role, m.content) for m in self.messages if m.role != "system"]
        else:
            assert self.message is not None
            system = self.system_prompt or ""
            turns = [ChatTurn(t.role, t.content) for t in self.history]
            turns.append(ChatTurn("user", self.message))
        return CompletionRequest(
            turns=turns,
            system_prompt=system,
            options=self.generation_options(),
            model=self.model,
        )


class UsageInfo(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of_usage(cls, usage: Usage) -> UsageInfo:
        total = usage.prompt_tokens + usage.completion_tokens
        return cls(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=total,
        )

    @classmethod
    def of(cls, finishes: Sequence[Finished]) -> UsageInfo:
        prompt = sum(f.usage.prompt_tokens for f in finishes)
        completion = sum(f.usage.completion_tokens for f in finishes)
        return cls(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
        )


class ChatResponse(BaseModel):
    response: str
    message_id: str | None = Field(None, description="The stored answer, with conversation_id.")
    thinking: str = ""
    success: bool = True
    error: str | None = None
    usage: UsageInfo | None = None
    model: str | None = None
    finish_reason: str | None = None


class StreamEvent(BaseModel):
    """One Server-Sent Event of /chat/stream and streamed /generate."""

    type: Literal["start", "thinking", "chunk", "end", "error"]
    content: str = ""
    message_id: str | None = None
    usage: UsageInfo | None = None
    finish_reason: str | None = None
    model: str | None = None
    code: str | None = None


class GenerateRequest(SamplingFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"prompt": "Write a Python function for Fibonacci numbers.", "max_tokens": 300}
            ]
        }
    )

    prompt: str = Field(min_length=1)
    system_prompt: str | None = None
    stream: bool = Field(False, description="Answer as Server-Sent Events, like /chat/stream.")

    def completion_request(self) -> CompletionRequest:
        return CompletionRequest(
            turns=[ChatTurn("user", self.prompt)],
            system_prompt=self.system_prompt or "",
            options=self.generation_options(),
            model=self.model,
        )


class GenerateResponse(BaseModel):
    generated_text: str
    thinking: str = ""
    usage: UsageInfo
    model: str
    finish_reason: str
    generation_time_ms: float


class BatchRequest(SamplingFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"prompts": ["What is AI?", "What is Python good at?"], "max_tokens": 150}]
        }
    )

    prompts: list[str] = Field(
        min_length=1, description="Run concurrently; at most the server's max_batch_prompts."
    )
    system_prompt: str | None = None


class BatchResponse(BaseModel):
    results: list[str]
    thinking: list[str]
    usage: UsageInfo
    model: str
    generation_time_ms: float


class ModelInfo(BaseModel):
    model_name: str
    model_path: str | None
    state: Literal["available", "loading", "loaded", "failed"]
    is_loaded: bool
    device: str | None
    dtype: str | None
    context_length: int | None
    parameter_count: int | None
    memory_bytes: int | None
    error: str | None = None


class LoadRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{}, {"model": "smollm2"}]})

    model: str | None = Field(None, max_length=200)


class LoadResponse(BaseModel):
    status: Literal["loaded"]
    model: str
    message: str


class ServiceInfo(BaseModel):
    name: str
    version: str
    docs: str
    redoc: str
    openai_base_url: str
    health: str


# ---------- helpers ----------


def _check_lengths(settings: Settings, texts: Sequence[str]) -> None:
    if any(len(text) > settings.max_message_chars for text in texts):
        raise ApiError(
            422, "too_long", f"Messages are limited to {settings.max_message_chars} characters."
        )


async def _prepare(completions: CompletionService, request: CompletionRequest) -> PendingCompletion:
    try:
        return await completions.prepare(request)
    except CompletionRefused as refusal:
        raise refusal_error(refusal) from refusal


def _generation_failed(exc: CompletionFailed) -> ApiError:
    return ApiError(502, "generation_failed", exc.message)


async def _stream_events(
    completions: CompletionService, pending: PendingCompletion
) -> AsyncIterator[str]:
    yield sse_data(StreamEvent(type="start", model=pending.model))
    try:
        async for event in completions.stream(pending):
            if isinstance(event, Piece):
                kind: Literal["thinking", "chunk"] = (
                    "thinking" if event.channel == "thinking" else "chunk"
                )
                yield sse_data(StreamEvent(type=kind, content=event.text))
            elif isinstance(event, Queued):
                yield sse_comment("queued")
            elif isinstance(event, Prefilling):
                yield sse_comment("prefill")
            elif isinstance(event, Finished):
                yield sse_data(
                    StreamEvent(
                        type="end",
                        usage=UsageInfo.of([event]),
                        finish_reason=event.finish_reason,
                    )
                )
    except CompletionFailed as exc:
        yield sse_data(StreamEvent(type="error", content=exc.message, code="generation_failed"))
    except Exception:
        log.exception("streamed completion failed")
        yield sse_data(
            StreamEvent(
                type="error", content="The answer failed on the server.", code="internal_error"
            )
        )


async def _stream(completions: CompletionService, request: CompletionRequest) -> StreamingResponse:
    # Refusals (model loading, bad options) are plain HTTP errors, before the stream starts.
    pending = await _prepare(completions, request)
    return event_stream(_stream_events(completions, pending))


async def _complete(completions: CompletionService, request: CompletionRequest) -> Completion:
    started = time.monotonic()
    pending = await _prepare(completions, request)
    return await completions.collect(pending, started)


async def _ask(
    chat: ChatService, user: User, body: ChatRequest, tracker: AnswerTracker
) -> AsyncIterator[AnswerEvent]:
    """The answer's events in the named conversation; refusals raised before it starts."""
    assert body.conversation_id is not None and body.message is not None
    events = chat.ask(user.id, body.conversation_id, body.message, body.send_options(), tracker)
    try:
        first = await anext(events)
    except ConversationNotFound as exc:
        raise not_found() from exc
    except ChatRefused as exc:
        raise ApiError(409 if exc.code == "busy" else 422, exc.code, exc.message) from exc

    async def rest() -> AsyncIterator[AnswerEvent]:
        yield first
        async for event in events:
            yield event

    return rest()


async def _conversation_stream_events(events: AsyncIterator[AnswerEvent]) -> AsyncIterator[str]:
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


_STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
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
_MODEL_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown model"},
    503: {"description": "model_not_loaded: the model is loading or failed to load"},
}


# ---------- routes ----------


@router.get("", response_model=ServiceInfo, summary="Service information")
async def service_info() -> ServiceInfo:
    return ServiceInfo(
        name="Parley",
        version=__version__,
        docs="/docs",
        redoc="/redoc",
        openai_base_url="/v1",
        health="/api/v1/health",
    )


@router.post("/chat", response_model=ChatResponse, responses=_MODEL_ERRORS)
async def chat(
    body: ChatRequest,
    user: CurrentUser,
    completions: CompletionsDep,
    chat_service: ChatDep,
    settings: SettingsDep,
) -> ChatResponse:
    if body.conversation_id is not None:
        _check_lengths(settings, [body.message or ""])
        tracker = AnswerTracker(client_id=str(uuid.uuid4()))
        async for _ in await _ask(chat_service, user, body, tracker):
            pass
        answer = tracker.answer()
        return ChatResponse(
            response=answer.content,
            thinking=answer.thinking,
            success=answer.error is None,
            error=answer.error.message if answer.error else None,
            usage=UsageInfo.of_usage(answer.usage) if answer.usage else None,
            finish_reason=answer.finish_reason,
            message_id=answer.message_id,
        )
    request = body.completion_request()
    _check_lengths(settings, [turn.content for turn in request.turns])
    try:
        result = await _complete(completions, request)
    except CompletionFailed as exc:
        return ChatResponse(response="", success=False, error=exc.message)
    return ChatResponse(
        response=result.answer,
        thinking=result.thinking,
        usage=UsageInfo.of([result.finish]),
        model=result.model,
        finish_reason=result.finish.finish_reason,
    )


@router.post(
    "/chat/stream",
    response_class=StreamingResponse,
    responses={**_STREAM_RESPONSES, **_MODEL_ERRORS},
)
async def chat_stream(
    body: ChatRequest,
    user: CurrentUser,
    completions: CompletionsDep,
    chat_service: ChatDep,
    settings: SettingsDep,
) -> StreamingResponse:
    if body.conversation_id is not None:
        _check_lengths(settings, [body.message or ""])
        tracker = AnswerTracker(client_id=str(uuid.uuid4()))
        events = await _ask(chat_service, user, body, tracker)
        return event_stream(_conversation_stream_events(events))
    request = body.completion_request()
    _check_lengths(settings, [turn.content for turn in request.turns])
    return await _stream(completions, request)


@router.post(
    "/generate",
    response_model=GenerateResponse,
    responses={**_STREAM_RESPONSES, **_MODEL_ERRORS},
)
async def generate(
    body: GenerateRequest, _user: CurrentUser, completions: CompletionsDep, settings: SettingsDep
) -> GenerateResponse | StreamingResponse:
    _check_lengths(settings, [body.prompt])
    request = body.completion_request()
    if body.stream:
        return await _stream(completions, request)
    try:
        result = await _complete(completions, request)
    except CompletionFailed as exc:
        raise _generation_failed(exc) from exc
    return GenerateResponse(
        generated_text=result.answer,
        thinking=result.thinking,
        usage=UsageInfo.of([result.finish]),
        model=result.model,
        finish_reason=result.finish.finish_reason,
        generation_time_ms=result.elapsed_ms,
    )


@router.post("/batch", response_model=BatchResponse, responses=_MODEL_ERRORS)
async def batch(
    body: BatchRequest, _user: CurrentUser, completions: CompletionsDep, settings: SettingsDep
) -> BatchResponse:
    if len(body.prompts) > settings.max_batch_prompts:
        raise ApiError(
            422,
            "batch_too_large",
            f"A batch may hold at most {settings.max_batch_prompts} prompts.",
        )
    _check_lengths(settings, body.prompts)
    if any(not prompt.strip() for prompt in body.prompts):
        raise ApiError(422, "empty_prompt", "Every prompt needs some text.")
    started = time.monotonic()
    requests = [
        CompletionRequest(
            turns=[ChatTurn("user", prompt)],
            system_prompt=body.system_prompt or "",
            options=body.generation_options(),
            model=body.model,
        )
        for prompt in body.prompts
    ]
    # Prepared one by one so a refusal is answered before any generation starts; then
    # generated together, so the engine batches them.
    pending = [await _prepare(completions, request) for request in requests]
    try:
        results = await asyncio.gather(*(completions.collect(p, started) for p in pending))
    except CompletionFailed as exc:
        raise _generation_failed(exc) from exc
    return BatchResponse(
        results=[result.answer for result in results],
        thinking=[result.thinking for result in results],
        usage=UsageInfo.of([result.finish for result in results]),
        model=pending[0].model,
        generation_time_ms=round((time.monotonic() - started) * 1000, 1),
    )


@router.get("/model/info", response_model=ModelInfo)
async def model_info(
    _user: CurrentUser, completions: CompletionsDep, settings: SettingsDep
) -> ModelInfo:
    status = completions.default_status()
    card = await completions.loaded_card(status.id)
    return ModelInfo(
        model_name=status.id,
        model_path=settings.model if status.id == completions.default_model else None,
        state=status.state,
        is_loaded=status.state == "loaded",
        device=status.device,
        dtype=status.dtype,
        context_length=card.context_length if card else None,
        # Not every engine's card says how many parameters it has.
        parameter_count=getattr(card, "parameter_count", None) or None,
        memory_bytes=card.memory_bytes or None if card else None,
        error=status.error,
    )


@router.post("/model/load", response_model=LoadResponse, responses=_MODEL_ERRORS)
async def load_model(
    completions: CompletionsDep, _admin: AdminUser, body: LoadRequest | None = None
) -> LoadResponse:
    try:
        model = await completions.load(body.model if body else None)
    except ModelUnavailable as exc:
        status = 404 if exc.code == "unknown_model" else 503
        raise ApiError(status, exc.code, exc.message) from exc
    return LoadResponse(status="loaded", model=model, message=f"The model {model!r} is loaded.")
