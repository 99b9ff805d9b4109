"""The engine interface: a conversation in, its answer's progress out, cancel by id.

Nothing here names torch, so the same interface fronts a remote OpenAI-compatible server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from parley.protocol import (
    AnswerProgress,
    ChatTurn,
    EmbeddingInput,
    Embeddings,
    EngineKind,
    ErrorKind,
    JsonOutput,
    ParleyError,
    ToolChoice,
    ToolSpec,
)

__all__ = [
    "ChatTurn",
    "Embedder",
    "EmbeddingInput",
    "Embeddings",
    "Engine",
    "EngineError",
    "EngineKind",
    "GenerationRequest",
    "ModelCard",
    "SamplingParams",
]


@dataclass(frozen=True, slots=True)
class SamplingParams:
    max_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    # Log probabilities of the answer's tokens, each with this many likeliest alternatives
    # (0 to 20); None: none asked, and none computed.
    logprobs: int | None = None
    # Benchmarks only: keep generating past end-of-sequence so every answer has max_tokens.
    ignore_eos: bool = False


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    request_id: str
    # The whole (already fitted) conversation, the system turn first if any.
    turns: tuple[ChatTurn, ...]
    # None: the model's default.
    enable_thinking: bool | None = None
    params: SamplingParams = field(default_factory=SamplingParams)
    # Functions offered to the model through its chat template; the answer is parsed for calls
    # to them (a remote engine passes both through).
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = "auto"
    # False: at most one call per answer (the engine stops after the first).
    parallel_tool_calls: bool = True
    # JSON the answer must be (`response_format`); None: any text.
    output: JsonOutput | None = None


class EngineError(ParleyError):
    """A generation that failed inside the engine; its message is safe to show a user."""

    default_code = "generation_failed"
    default_kind: ClassVar[ErrorKind] = "failed"


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
    # Whether the chat template reads `enable_thinking`, so thinking can be turned off.
    thinking_toggle: bool = False
    # At most this many requests at once (a remote's configured limit); None: no bound of its
    # own. The chat layer's admission gives the model no more slots than this.
    max_concurrency: int | None = None


class Engine(Protocol):
    """One loaded model that serves many concurrent requests."""

    @property
    def card(self) -> ModelCard: ...

    async def prompt_tokens(
        self,
        turns: Sequence[ChatTurn],
        *,
        enable_thinking: bool | None,
        tools: Sequence[ToolSpec] = (),
    ) -> int:
        """How many tokens the prompt for these turns takes (template and all), `tools`
        offered in it."""
        ...

    def check_request(self, request: GenerationRequest) -> None:
        """Raises ParleyError (HTTP 400) for what the request asks of this engine that it
        cannot do (a schema its constrained decoding cannot express), before it starts."""
        ...

    def generate(self, request: GenerationRequest) -> AsyncIterator[AnswerProgress]:
        """`Queued`/`Prefilling` while waiting, `Pieces` already split into thinking and answer,
        last a `Finished`. On failure: everything already produced (held-back text flushed),
        then `EngineError`. Closing the iterator early cancels the request."""
        ...

    async def cancel(self, request_id: str) -> None:
        """Stop a request; its stream ends with `Finished("cancelled")` within one decode step."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class Embedder(Protocol):
    """An engine that may embed (llama.cpp, a remote); whether its model does is its own
    word: it raises EngineError (`model_cannot_embed`) where not."""

    async def embed(self, inputs: Sequence[EmbeddingInput]) -> Embeddings:
        """Raises EngineError: `malformed` for an input the model cannot read (too long,
        empty, an unknown token id), `unavailable`/`failed` as generate does."""
        ...
