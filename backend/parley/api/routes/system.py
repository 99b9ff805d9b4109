"""Liveness, health with the model's state, stats and Prometheus metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel

from parley import __version__
from parley.api.deps import ChatDep, SettingsDep, TelemetryDep
from parley.protocol import ModelStatus
from parley.telemetry.stats import StatsPublic

router = APIRouter(tags=["system"])

HealthStatus = Literal["healthy", "loading", "unhealthy"]


class Health(BaseModel):
    """The seed services' `status`, `model_loaded` and `model_name`, and more."""

    status: HealthStatus
    model_loaded: bool
    model_name: str
    message: str
    device: str
    models: list[ModelStatus]
    version: str
    uptime_s: float


@router.get("/health")
async def liveness() -> dict[str, str]:
    """Cheap liveness: the process answers."""
    return {"status": "ok"}


@router.get(
    "/api/v1/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "The default model failed to load."}},
)
async def health(
    response: Response, chat: ChatDep, settings: SettingsDep, telemetry: TelemetryDep
) -> Health:
    """The default model's load state and device; 503 when it failed to load (a load
    balancer then stops sending users to a server that cannot answer)."""
    default = chat.model_status()
    status: HealthStatus
    if default.state == "loaded":
        status, message = "healthy", f"{default.id} is loaded."
    elif default.state == "failed":
        status, message = "unhealthy", f"{default.id} failed to load: {default.error}"
        response.status_code = 503
    else:
        status, message = "loading", f"{default.id} is loading."
    return Health(
        status=status,
        model_loaded=default.state == "loaded",
        model_name=default.id,
        message=message,
        device=default.device or settings.device,
        models=chat.models(),
        version=__version__,
        uptime_s=telemetry.stats.uptime_s,
    )


@router.get("/api/v1/stats", response_model=StatsPublic)
async def stats(telemetry: TelemetryDep) -> StatsPublic:
    """Requests, runs and tokens since the server started; latency percentiles over the most
    recent 10,000 of each."""
    return telemetry.snapshot()


@router.get("/metrics", include_in_schema=False)
async def metrics(telemetry: TelemetryDep) -> Response:
    body, content_type = telemetry.exposition()
    return Response(body, media_type=content_type)
