"""What administrators see and manage: the machine (GPUs, CPU, memory, disk, loaded models)
and the users (disable, enable, make administrator)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from parley.api.deps import AccountsDep, AdminUser, ChatDep, HostDep
from parley.models import UserAdminUpdate, UserPublic
from parley.protocol import ModelStatus
from parley.telemetry import HostResources

router = APIRouter(prefix="/api/admin", tags=["admin"])


class Resources(HostResources):
    models: list[ModelStatus]


@router.get("/resources", response_model=Resources)
async def resources(_admin: AdminUser, chat: ChatDep, host: HostDep) -> Resources:
    sample = await asyncio.to_thread(host.sample)
    return Resources(**sample.model_dump(), models=chat.models())


@router.get("/users", response_model=list[UserPublic])
async def users(_admin: AdminUser, accounts: AccountsDep) -> Any:
    """Every user, oldest first."""
    return await accounts.users()


@router.patch("/users/{user_id}", response_model=UserPublic)
async def update_user(
    user_id: str, changes: UserAdminUpdate, _admin: AdminUser, accounts: AccountsDep, chat: ChatDep
) -> Any:
    """Disabling stops the user's tokens and keys at once and closes their sockets (4401)."""
    user = await accounts.update_user(user_id, changes)
    if user.disabled:
        await chat.disconnect_user(user.id)
    return user
