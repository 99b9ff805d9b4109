"""The transformers engine's decode loop: every active request of a model in one padded batch.

Continuous batching over a left-padded KV cache (padded_batch.py). Each turn of the loop

1. takes cancellations and admits queued requests (batch_queue.py: slots and a KV budget),
2. prefills up to `prefill_chunk_tokens` prompt tokens: several short prompts together in one
   padded batch, or one chunk of a long prompt, so running streams wait about one step at most
   (with no stream decoding, every waiting prompt up to 4096 tokens in one batch),
3. merges finished prefills into the batch (padding the shorter side on the left),
4. runs one decode step for all rows and drops the rows that finished, freeing their KV at once.

Measured on the 2-core CPU (docs/performance.md): a hand loop like this is several times faster
than transformers' paged ContinuousBatchingManager and, unlike a padded `generate` call, lets
requests join and leave between steps.

Everything torch happens on the loop's own thread; results go out through each request's
`emit` callback, which the caller makes thread-safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from transformers import DynamicCache

from parley.engine.batch_queue import BatchLimits
from parley.engine.decode_loop import DecodeLoop
from parley.engine.logprobs import token_choice
from parley.engine.sequence import SequenceState
from parley.engine.transformers.padded_batch import PaddedBatch, left_padded_prompts
from parley.engine.transformers.sampling import RowSampling, choose_tokens, new_generator


@dataclass(eq=False, slots=True, kw_only=True)
class TransformersSequence(SequenceState):
    # Made at admission: the row's sampling parameters, seeded generator and seen tokens.
    sampling: RowSampling | None = None
    # Chunked prefill of a long prompt keeps its own cache until the whole prompt is read.
    prefill_cache: DynamicCache | None = None


def _samplings(sequences: Sequence[TransformersSequence]) -> list[RowSampling]:
    rows = [s.sampling for s in sequences]
    assert all(row is not None for row in rows)
    return rows  # type: ignore[return-value]


class TransformersLoop(DecodeLoop[TransformersSequence]):
    def __init__(
        self,
        model: torch.nn.Module,
        eos_token_ids: Iterable[int],
        vocab_size: int,
        limits: BatchLimits,
        name: str,
    ) -> None:
        super().__init__(limits, name)
        self._model = model
        # Embedding tables are often padded past the tokenizer's vocabulary; those ids are no text.
        self._vocab_size = vocab_size
        self._device = next(model.parameters()).device
        self._eos = frozenset(eos_token_ids)
        # Owned by the loop thread.
        self._prefilling: list[TransformersSequence] = []
        self._running: list[TransformersSequence] = []  # row i of the batch is _running[i]
        self._batch = PaddedBatch()
        self.start()

    def _run(self) -> None:
        with torch.inference_mode():
            super()._run()

    def active(self) -> Sequence[TransformersSequence]:
        return [*self._prefilling, *self._running]

    def admit(self, sequences: Sequence[TransformersSequence]) -> None:
        for s in sequences:
            s.sampling = RowSampling(s.params, new_generator(s.params.seed), list(s.prompt_ids))
        self._prefilling.extend(sequences)

    def remove(self, sequences: set[TransformersSequence]) -> None:
        self._prefilling = [s for s in self._prefilling if s not in sequences]
        leaving = {i for i, s in enumerate(self._running) if s in sequences}
        self._running = [s for s in self._running if s not in sequences]
        self._batch.drop_rows(leaving)

    def step(self) -> None:
        self._prefill()
        if self._running:
            self._decode_step()

    # ---- prefill ----

    def _prefill(self) -> None:
        if not self._prefilling:
            return
        budget = self.prefill_budget(decoding=bool(self._running))
        first = self._prefilling[0]
        if first.prefill_cache is not None or len(first.prompt_ids) > budget:
            self._prefill_chunk(first, budget)
            return
        group: list[TransformersSequence] = []
        for sequence in self._prefilling:
            longest = max(len(s.prompt_ids) for s in (*group, sequence))
            if group and (len(group) + 1) * longest > budget:
                break
            group.append(sequence)
        self._prefill_group(group)

    def _prefill_group(self, group: Sequence[TransformersSequence]) -> None:
        """Read several short prompts in one left-padded batch."""
        ids, mask, positions = left_padded_prompts([s.prompt_ids for s in group], self._device)
        cache = DynamicCache()
        logits = self._forward(ids, mask, positions, cache)
        self._prefilling = self._prefilling[len(group) :]
        self._start_decoding(group, logits, cache, mask)

    def _prefill_chunk(self, sequence: TransformersSequence, budget: int) -> None:
        """Read the next chunk of one long prompt; it joins the batch after its last chunk."""
        if sequence.prefill_cache is None:
            sequence.prefill_cache = DynamicCache()
        start = sequence.prefilled
        end = min(start + budget, len(sequence.prompt_ids))
        ids = torch.tensor([sequence.prompt_ids[start:end]], device=self._device)
        mask = torch.ones((1, end), dtype=torch.long, device=self._device)
        positions = torch.arange(start, end, device=self._device).unsqueeze(0)
        logits = self._forward(ids, mask, positions, sequence.prefill_cache)
        sequence.prefilled = end
        if end < len(sequence.prompt_ids):
            return
        cache, sequence.prefill_cache = sequence.prefill_cache, None
        self._prefilling.remove(sequence)
        self._start_decoding([sequence], logits, cache, mask)

    def _start_decoding(
        self,
        group: Sequence[TransformersSequence],
        logits: torch.Tensor,
        cache: DynamicCache,
        mask: torch.Tensor,
    ) -> None:
        """Take each prompt's first token and move the unfinished rows into the batch."""
        tokens = choose_tokens(logits, _samplings(group))
        staying = [
            i
            for i, (s, t) in enumerate(zip(group, tokens, strict=True))
            if self._accept(s, t, logits[i])
        ]
        if staying:
            self._running.extend(group[i] for i in staying)
            self._batch.join(cache, mask, staying)

    # ---- decode ----

    def _decode_step(self) -> None:
        assert self._batch.cache is not None
        last = torch.tensor([[s.generated[-1]] for s in self._running], device=self._device)
        mask, positions = self._batch.next_step()
        logits = self._forward(last, mask, positions, self._batch.cache)
        tokens = choose_tokens(logits, _samplings(self._running))
        leaving = {
            i
            for i, (s, t) in enumerate(zip(self._running, tokens, strict=True))
            if not self._accept(s, t, logits[i])
        }
        self.remove({self._running[i] for i in leaving})

    def _forward(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor,
        positions: torch.Tensor,
        cache: DynamicCache,
    ) -> torch.Tensor:
        """Logits of the last position of each row, [rows, vocab]."""
        output = self._model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        logits: torch.Tensor = output.logits[:, -1, : self._vocab_size]
        return logits

    def _accept(self, sequence: TransformersSequence, token: int, row: torch.Tensor) -> bool:
        """`row`: the token's logits as the model gave them (choose_tokens penalised a copy)."""
        assert sequence.sampling is not None
        sequence.sampling.seen_ids.append(token)
        top = sequence.params.logprobs
        choice = None if top is None else token_choice(row.float().cpu().numpy(), token, top)
        return sequence.accept(token, is_end=token in self._eos, choice=choice)
