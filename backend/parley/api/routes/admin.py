"""What administrators see and manage: the machine (GPUs, CPU, memory, disk, loaded models)
and the users (disable, enable, make administrator)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from parley.accounts.service import LastAdmin, UserNotFound
from parley.api.deps import AccountsDep, AdminUser, ChatDep, HostDep
from parley.api.errors import ApiError, not_found
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
    try:
        user = await accounts.update_user(user_id, changes)
    except UserNotFound as exc:
        raise not_found("user") from exc
    except LastAdmin as exc:
        raise ApiError(
            409, "last_admin", "At least one enabled administrator must remain."
        ) from exc
    if user.disabled:
        await chat.disconnect_user(user.id)
    return user
