"""What administrators see of the machine: GPUs, CPU, memory, disk and the loaded models."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from parley.api.deps import AdminUser, ChatDep, HostDep
from parley.protocol import ModelStatus
from parley.telemetry import HostResources

router = APIRouter(prefix="/api/admin", tags=["admin"])


class Resources(HostResources):
    models: list[ModelStatus]


@router.get("/resources", response_model=Resources)
async def resources(_admin: AdminUser, chat: ChatDep, host: HostDep) -> Resources:
    sample = await asyncio.to_thread(host.sample)
    return Resources(**sample.model_dump(), models=chat.models())
