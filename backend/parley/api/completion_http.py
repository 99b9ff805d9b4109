"""What the completion routes (/api/v1 and /v1) share: refusals as HTTP errors, and
Server-Sent Events that reach the client as they are made."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from parley.api.errors import ApiError
from parley.chat.completions import (
    CompletionFailed,
    CompletionRefused,
    ModelNotLoaded,
    UnknownModel,
)

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    # nginx and friends must pass each event on at once rather than buffer the answer.
    "X-Accel-Buffering": "no",
}


def refusal_error(refusal: CompletionRefused) -> ApiError:
    status = 422  # BadOptions and anything else the caller could fix
    if isinstance(refusal, ModelNotLoaded):
        status = 503
    elif isinstance(refusal, UnknownModel):
        status = 404
    headers = (
        {"Retry-After": str(refusal.retry_after_s)} if refusal.retry_after_s is not None else None
    )
    return ApiError(status, refusal.code, refusal.message, headers=headers)


def failure_status(failure: CompletionFailed) -> int:
    """503 when a remote model could not take the request, 502 when the answer failed."""
    return 503 if failure.code == "model_unavailable" else 502


def failure_error(failure: CompletionFailed) -> ApiError:
    return ApiError(failure_status(failure), failure.code, failure.message)


def sse_data(payload: BaseModel | dict[str, Any] | str) -> str:
    if isinstance(payload, BaseModel):
        text = payload.model_dump_json(exclude_none=True)
    elif isinstance(payload, dict):
        text = json.dumps(payload, ensure_ascii=False)
    else:
        text = payload
    return f"data: {text}\n\n"


def sse_comment(text: str) -> str:
    """A line clients ignore; keeps proxies from timing out while a request waits."""
    return f": {text}\n\n"


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)
