"""The models this server can run, and their state."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from parley.api.deps import AdminUser, ChatDep, CurrentUser
from parley.protocol import ModelStatus

router = APIRouter(prefix="/api/models", tags=["models"])


class ModelList(BaseModel):
    models: list[ModelStatus]
    default: str


@router.get("", response_model=ModelList)
async def list_models(_user: CurrentUser, chat: ChatDep) -> ModelList:
    return ModelList(models=chat.models(), default=chat.model_status().id)


@router.post("/{model_id}/load", status_code=202, response_model=ModelStatus)
async def load_model(model_id: str, _admin: AdminUser, chat: ChatDep) -> ModelStatus:
    """Start loading a model in the background (administrators only); poll the list for its
    state. Loading past the bound on loaded models unloads the least recently used one."""
    return await chat.load_model(model_id)


@router.post("/{model_id}/unload", response_model=ModelStatus)
async def unload_model(model_id: str, _admin: AdminUser, chat: ChatDep) -> ModelStatus:
    """Free a model's memory (administrators only); answers being generated with it end as
    cancelled, and the next use loads it again."""
    return await chat.unload_model(model_id)
