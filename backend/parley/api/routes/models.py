"""The models this server can run, and their state."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter
from pydantic import BaseModel

from parley.api.deps import AdminUser, ChatDep, CurrentUser
from parley.api.errors import ApiError
from parley.engine.manager import ModelState, ModelStatus, ModelUnavailable

router = APIRouter(prefix="/api/models", tags=["models"])


class ModelPublic(BaseModel):
    id: str
    state: ModelState
    is_default: bool
    error: str | None = None
    device: str | None = None
    dtype: str | None = None
    # "transformers" or "llamacpp" once loaded; `engine_note` says why, when it matters
    # (llama.cpp unavailable, or its quality-gate verdict).
    engine: str | None = None
    engine_note: str | None = None
    memory_bytes: int | None = None
    progress: float | None = None


def public_models(statuses: Iterable[ModelStatus]) -> list[ModelPublic]:
    return [ModelPublic.model_validate(status, from_attributes=True) for status in statuses]


class ModelList(BaseModel):
    models: list[ModelPublic]
    default: str


@router.get("", response_model=ModelList)
async def list_models(_user: CurrentUser, chat: ChatDep) -> ModelList:
    statuses = chat.models()
    return ModelList(
        models=public_models(statuses),
        default=next((s.id for s in statuses if s.is_default), statuses[0].id),
    )


def _unknown(model_id: str) -> ApiError:
    return ApiError(404, "model_not_found", f"No model named {model_id!r}.")


@router.post("/{model_id}/load", status_code=202, response_model=ModelPublic)
async def load_model(model_id: str, _admin: AdminUser, chat: ChatDep) -> ModelPublic:
    """Start loading a model in the background (administrators only); poll the list for its
    state. Loading past the bound on loaded models unloads the least recently used one."""
    try:
        status = await chat.load_model(model_id)
    except ModelUnavailable as exc:
        raise _unknown(model_id) from exc
    return ModelPublic.model_validate(status, from_attributes=True)


@router.post("/{model_id}/unload", response_model=ModelPublic)
async def unload_model(model_id: str, _admin: AdminUser, chat: ChatDep) -> ModelPublic:
    """Free a model's memory (administrators only); answers being generated with it end as
    cancelled, and the next use loads it again."""
    try:
        status = await chat.unload_model(model_id)
    except ModelUnavailable as exc:
        raise _unknown(model_id) from exc
    return ModelPublic.model_validate(status, from_attributes=True)
