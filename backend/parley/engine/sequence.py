"""One request inside a decode loop: its prompt, its limits, and what it has produced. Torch-free.

Every engine that runs its own batch (transformers, llama.cpp) keeps one of these per request
and feeds it each new token through `accept`, which streams the text and decides the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from parley.engine.base import EngineError, SamplingParams
from parley.engine.decoding import Decode, IncrementalDetokenizer, StopStringFilter
from parley.engine.reasoning import RawProgress, TextDelta
from parley.protocol import Finished, FinishReason, Usage

# Receives the events of one request, or the EngineError that ends it; called on the loop thread.
Emit = Callable[[RawProgress | EngineError], None]


@dataclass(eq=False, slots=True, kw_only=True)
class SequenceState:
    request_id: str
    prompt_ids: list[int]
    params: SamplingParams
    max_new_tokens: int
    emit: Emit
    detokenizer: IncrementalDetokenizer
    stops: StopStringFilter
    generated: list[int] = field(default_factory=list)
    # Prompt tokens already read (chunked prefill).
    prefilled: int = 0
    # Prompt tokens not read: the engine had their KV already (kept or copied).
    reused_tokens: int = 0

    @property
    def kv_tokens(self) -> int:
        """The KV cache this request may come to need: its prompt and its longest answer."""
        return len(self.prompt_ids) + self.max_new_tokens

    @classmethod
    def start(
        cls,
        request_id: str,
        prompt_ids: list[int],
        params: SamplingParams,
        max_new_tokens: int,
        decode: Decode,
        emit: Emit,
        **engine_fields: Any,
    ) -> Self:
        """A new sequence; `engine_fields` are those of an engine's own subclass."""
        return cls(
            request_id=request_id,
            prompt_ids=prompt_ids,
            params=params,
            max_new_tokens=max_new_tokens,
            emit=emit,
            detokenizer=IncrementalDetokenizer(decode),
            stops=StopStringFilter(params.stop),
            **engine_fields,
        )

    def finish(self, reason: FinishReason) -> None:
        usage = Usage(len(self.prompt_ids), len(self.generated), self.reused_tokens)
        self.emit(Finished(reason, usage))

    def accept(self, token: int, *, is_end: bool) -> bool:
        """Record a new token and stream its text; False when the sequence has finished.

        `is_end`: the token ends generation for this model (EOS, end of turn)."""
        self.generated.append(token)
        if is_end and not self.params.ignore_eos:
            self._emit_text(self.stops.flush())
            self.finish("stop")
            return False
        text = self.stops.feed(self.detokenizer.add(token))
        if self.stops.stopped:
            self._emit_text(text)
            self.finish("stop")
            return False
        if len(self.generated) >= self.max_new_tokens:
            self._emit_text(text + self.stops.flush())
            self.finish("length")
            return False
        self._emit_text(text)
        return True

    def _emit_text(self, text: str) -> None:
        if text:
            self.emit(TextDelta(text, len(self.generated)))
