"""A model's state as the engine manager reports it and every route shows it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

ModelState = Literal["available", "loading", "loaded", "failed"]
# What runs a model: transformers (any folder, LoRA, the GPU), llama.cpp (GGUF files, CPU) or
# an OpenAI-compatible server.
EngineKind = Literal["transformers", "llamacpp", "openai"]


class ModelStatus(BaseModel):
    id: str
    state: ModelState
    is_default: bool
    error: str | None = None
    device: str | None = None
    dtype: str | None = None
    # What runs it, once loaded; `engine_note` says why, when it matters (llama.cpp
    # unavailable, its quality-gate verdict).
    engine: EngineKind | None = None
    engine_note: str | None = None
    # Weights in memory while loaded.
    memory_bytes: int | None = None
    # 0..1 while loading, by stage (weights ready, model built), not by bytes read.
    progress: float | None = None
    # Tokens of context while loaded.
    context_length: int | None = None
    # Whether `options.thinking` (and a conversation's `thinking`) can turn thinking off; known
    # once the model is loaded (null before).
    thinking_toggle: bool | None = None
