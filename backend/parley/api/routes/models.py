"""The models this server can run, and their state."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from parley.api.deps import ChatDep, CurrentUser

router = APIRouter(prefix="/api/models", tags=["models"])


class ModelPublic(BaseModel):
    id: str
    state: Literal["available", "loading", "loaded", "failed"]
    is_default: bool
    error: str | None = None
    device: str | None = None
    dtype: str | None = None


class ModelList(BaseModel):
    models: list[ModelPublic]
    default: str


@router.get("", response_model=ModelList)
async def list_models(_user: CurrentUser, chat: ChatDep) -> ModelList:
    statuses = chat.models()
    return ModelList(
        models=[ModelPublic.model_validate(status, from_attributes=True) for status in statuses],
        default=next((s.id for s in statuses if s.is_default), statuses[0].id),
    )
