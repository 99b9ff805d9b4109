"""A model's state as the engine manager reports it and every route shows it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

ModelState = Literal["available", "loading", "loaded", "failed"]


class ModelStatus(BaseModel):
    id: str
    state: ModelState
    is_default: bool
    error: str | None = None
    device: str | None = None
    dtype: str | None = None
    # Weights in memory while loaded.
    memory_bytes: int | None = None
    # 0..1 while loading, by stage (weights ready, model built), not by bytes read.
    progress: float | None = None
    # Tokens of context while loaded.
    context_length: int | None = None
    # Whether `options.thinking` (and a conversation's `thinking`) can turn thinking off; known
    # once the model is loaded (null before).
    thinking_toggle: bool | None = None
