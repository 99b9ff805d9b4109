"""Embeddings, from the engine up to /v1: what is embedded, and what comes back."""

from __future__ import annotations

from dataclasses import dataclass

# A text to embed, or its token ids.
EmbeddingInput = str | tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Embeddings:
    """One vector per input, in the inputs' order (llama.cpp's of unit length; a remote's
    as it sends them), and the tokens read."""

    vectors: tuple[tuple[float, ...], ...]
    prompt_tokens: int
