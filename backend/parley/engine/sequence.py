"""One request inside a decode loop: its prompt, its limits, and what it has produced. Torch-free.

Every engine that runs its own batch (transformers, llama.cpp) keeps one of these per request
and feeds it each new token through `accept`, which streams the text and decides the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Self

from parley.engine.base import EngineError, SamplingParams
from parley.engine.decoding import Decode, IncrementalDetokenizer, StopStringFilter
from parley.engine.logprobs import TokenChoice
from parley.engine.reasoning import RawProgress, TextDelta
from parley.protocol import Finished, FinishReason, TokenLogprob, TopLogprob, Usage

# Receives the events of one request, or the EngineError that ends it; called on the loop thread.
Emit = Callable[[RawProgress | EngineError], None]
# The bytes one token id stands for (none for control tokens).
TokenBytes = Callable[[int], bytes]


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
    # Spells out the tokens of log probabilities (only asked when the request wants them).
    token_bytes: TokenBytes | None = None
    # Log probabilities of tokens whose text the stop filter still holds, oldest first, and
    # the characters of text sent but not yet matched to one of them.
    _held_logprobs: list[TokenLogprob] = field(default_factory=list)
    _unmatched_chars: int = 0

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
        token_bytes: TokenBytes | None = None,
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
            token_bytes=token_bytes,
            **engine_fields,
        )

    def finish(self, reason: FinishReason) -> None:
        usage = Usage(len(self.prompt_ids), len(self.generated), self.reused_tokens)
        self.emit(Finished(reason, usage))

    def accept(self, token: int, *, is_end: bool, choice: TokenChoice | None = None) -> bool:
        """Record a new token and stream its text; False when the sequence has finished.

        `is_end`: the token ends generation for this model (EOS, end of turn); it is not part
        of the answer, nor of its log probabilities. `choice`: the token's log probabilities,
        where the request asked for them."""
        self.generated.append(token)
        if is_end and not self.params.ignore_eos:
            self._emit_text(self.stops.flush(), last=True)
            self.finish("stop")
            return False
        added = self.detokenizer.add(token)
        if choice is not None:
            self._held_logprobs.append(self._spelled(token, added, choice))
        text = self.stops.feed(added)
        if self.stops.stopped:
            self._emit_text(text, last=True)
            self.finish("stop")
            return False
        if len(self.generated) >= self.max_new_tokens:
            self._emit_text(text + self.stops.flush(), last=True)
            self.finish("length")
            return False
        self._emit_text(text)
        return True

    def _spelled(self, token: int, added: str, choice: TokenChoice) -> TokenLogprob:
        assert self.token_bytes is not None, "an engine that computes logprobs spells them"
        spell = self.token_bytes
        top = tuple(
            TopLogprob(spell(i).decode("utf-8", errors="replace"), spell(i), logprob)
            for i, logprob in choice.top
        )
        return TokenLogprob(added, spell(token), choice.logprob, top)

    def _emit_text(self, text: str, *, last: bool = False) -> None:
        logprobs = self._sent_logprobs(len(text), last=last)
        if text or logprobs:
            self.emit(TextDelta(text, len(self.generated), logprobs))

    def _sent_logprobs(self, chars: int, *, last: bool) -> tuple[TokenLogprob, ...]:
        """The held log probabilities whose tokens' text is now all sent (`chars` more of
        it). `last`: the answer ends; a token the stop string cut keeps the text before the
        cut, and those of the stop string itself are dropped, as their text is."""
        held = self._held_logprobs
        if not held:
            return ()
        self._unmatched_chars += chars
        count = 0
        while count < len(held) and len(held[count].token) <= self._unmatched_chars:
            self._unmatched_chars -= len(held[count].token)
            count += 1
        sent = held[:count]
        del held[:count]
        if last:
            if held and self._unmatched_chars:
                sent.append(replace(held[0], token=held[0].token[: self._unmatched_chars]))
            held.clear()
            self._unmatched_chars = 0
        return tuple(sent)
