"""The errors an engine's `embed` raises for what it cannot read (engine/base.py's Embedder)."""

from __future__ import annotations

from parley.engine.base import EngineError


def cannot_embed(model: str) -> EngineError:
    return EngineError(
        f"The model {model!r} does not support embeddings.",
        code="model_cannot_embed",
        kind="malformed",
    )


def bad_embedding_input(index: int, why: str, *, code: str = "invalid_input") -> EngineError:
    return EngineError(f"Input {index} {why}.", code=code, kind="malformed")
