"""The engine interface: plain requests in, an async stream of text deltas out, cancel by id.

Nothing here names torch, so the same interface can front a remote OpenAI-compatible server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

FinishReason = Literal["stop", "length", "cancelled"]
Role = Literal["system", "user", "assistant"]
# What runs a model: transformers (any folder, LoRA, the GPU) or llama.cpp (GGUF files, CPU).
EngineKind = Literal["transformers", "llamacpp"]


@dataclass(frozen=True, slots=True)
class ChatTurn:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class SamplingParams:
    max_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    # Benchmarks only: keep generating past end-of-sequence so every answer has max_tokens.
    ignore_eos: bool = False


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    request_id: str
    prompt: str
    params: SamplingParams = field(default_factory=SamplingParams)


@dataclass(frozen=True, slots=True)
class Queued:
    """Waiting for a free slot in the batch; position 1 is next in line."""

    position: int


@dataclass(frozen=True, slots=True)
class Prefilling:
    """The prompt is being read; no token yet."""

    prompt_tokens: int


@dataclass(frozen=True, slots=True)
class Delta:
    """New text since the previous delta (may be empty while a multi-byte character is cut)."""

    text: str
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class Finished:
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int


EngineEvent = Queued | Prefilling | Delta | Finished


class EngineError(Exception):
    """A generation that failed inside the engine; its message is safe to show a user."""


@dataclass(frozen=True, slots=True)
class ModelCard:
    """What the layers above need to know of a loaded model."""

    name: str
    context_length: int
    think_open: str = "<think>"
    think_close: str = "</think>"
    device: str = "cpu"
    # The weights' precision: a torch dtype ("float32") or a GGUF type ("Q4_1").
    dtype: str = "float32"
    # Weights and buffers (for llama.cpp also its KV pool, allocated at load).
    memory_bytes: int = 0
    engine: EngineKind = "transformers"


class Engine(Protocol):
    """One loaded model that serves many concurrent requests."""

    @property
    def card(self) -> ModelCard: ...

    def render_prompt(self, turns: Sequence[ChatTurn], *, enable_thinking: bool | None) -> str:
        """The model's own chat template applied to the turns, ending where the reply starts."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def generate(self, request: GenerationRequest) -> AsyncIterator[EngineEvent]:
        """Stream events for one request; the last one is always `Finished` unless it raises
        `EngineError`. Closing the iterator early cancels the request."""
        ...

    async def cancel(self, request_id: str) -> None:
        """Stop a request; its stream ends with `Finished("cancelled")` within one decode step."""
        ...

    async def close(self) -> None: ...
