"""A chat model the models file does not mark as embedding refuses clearly, on both engines."""

from __future__ import annotations

import pytest

from parley.engine.base import Embedder, Engine, EngineError
from parley.engine.specs import EngineChoice

pytestmark = pytest.mark.model


async def test_a_chat_model_does_not_embed(smollm2: Engine, engine_kind: EngineChoice) -> None:
    if engine_kind == "transformers":  # No embeddings on it at all: the chat layer refuses.
        assert not isinstance(smollm2, Embedder)
        return
    assert isinstance(smollm2, Embedder)
    with pytest.raises(EngineError) as caught:
        await smollm2.embed(["hello"])
    assert (caught.value.code, caught.value.kind) == ("model_cannot_embed", "malformed")
    assert caught.value.message == "The model 'smollm2' does not support embeddings."
