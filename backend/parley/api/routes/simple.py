"""The simple model-service API that users bring scripts for, under /api/v1.

Shapes follow the FastAPI model services Parley replaces: /chat (with `message` + `history`
or OpenAI-style `messages`), /chat/stream (Server-Sent Events), /generate, /batch, model info
and loading. Stateless: nothing is stored. Every answer goes through the shared engine.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from parley import __version__
from parley.api.completion_http import event_stream, unless_disconnected
from parley.api.deps import AdminUser, ChatDep, CompletionsDep, CurrentUser, SettingsDep
from parley.api.errors import ApiError
from parley.api.simple_answers import (
    STREAM_RESPONSES,
    ask,
    complete,
    conversation_stream_events,
    stream,
)
from parley.api.simple_schemas import (
    BatchRequest,
    BatchResponse,
    ChatRequest,
    ChatResponse,
    GenerateRequest,
    GenerateResponse,
    LoadRequest,
    LoadResponse,
    ModelInfo,
    ServiceInfo,
    UsageInfo,
)
from parley.chat.completions import CompletionFailed, CompletionRequest
from parley.protocol import AnswerTracker, ChatTurn

router = APIRouter(prefix="/api/v1", tags=["simple API (/api/v1)"])


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
    http: Request,
) -> ChatResponse:
    if body.conversation_id is not None:
        tracker = AnswerTracker(client_id=str(uuid.uuid4()))
        async for _ in await ask(chat_service, user, body, tracker):
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
    try:
        result = await complete(completions, request, user, http)
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
    responses={**STREAM_RESPONSES, **_MODEL_ERRORS},
)
async def chat_stream(
    body: ChatRequest,
    user: CurrentUser,
    completions: CompletionsDep,
    chat_service: ChatDep,
) -> StreamingResponse:
    if body.conversation_id is not None:
        tracker = AnswerTracker(client_id=str(uuid.uuid4()))
        events = await ask(chat_service, user, body, tracker)
        return event_stream(conversation_stream_events(events))
    request = body.completion_request()
    return await stream(completions, request, user)


@router.post(
    "/generate",
    response_model=GenerateResponse,
    responses={**STREAM_RESPONSES, **_MODEL_ERRORS},
)
async def generate(
    body: GenerateRequest, user: CurrentUser, completions: CompletionsDep, http: Request
) -> GenerateResponse | StreamingResponse:
    request = body.completion_request()
    if body.stream:
        return await stream(completions, request, user)
    result = await complete(completions, request, user, http)
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
    body: BatchRequest,
    user: CurrentUser,
    completions: CompletionsDep,
    settings: SettingsDep,
    http: Request,
) -> BatchResponse:
    if len(body.prompts) > settings.max_batch_prompts:
        raise ApiError(
            422,
            "batch_too_large",
            f"A batch may hold at most {settings.max_batch_prompts} prompts.",
        )
    # Before the empty-prompt check, as ever (prepare checks each prompt again).
    completions.check_lengths(body.prompts)
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
    # generated together, so the engine batches them. The batch is one of the user's
    # requests in progress, however many prompts it holds.
    ticket = await completions.admit(user.id)
    pending = [
        await completions.prepare(request, ticket.share() if index else ticket)
        for index, request in enumerate(requests)
    ]
    results = await unless_disconnected(
        http, asyncio.gather(*(completions.collect(p, started) for p in pending))
    )
    return BatchResponse(
        results=[result.answer for result in results],
        thinking=[result.thinking for result in results],
        usage=UsageInfo.of([result.finish for result in results]),
        model=pending[0].model,
        generation_time_ms=round((time.monotonic() - started) * 1000, 1),
    )


@router.get("/model/info", response_model=ModelInfo)
async def model_info(
    _user: CurrentUser, chat: ChatDep, completions: CompletionsDep, settings: SettingsDep
) -> ModelInfo:
    status = chat.model_status()
    card = await completions.loaded_card(status.id)
    return ModelInfo(
        model_name=status.id,
        # The default model's status: the configured model, or the models file's first.
        model_path=settings.model,
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
    model = await completions.load(body.model if body else None)
    return LoadResponse(status="loaded", model=model, message=f"The model {model!r} is loaded.")
