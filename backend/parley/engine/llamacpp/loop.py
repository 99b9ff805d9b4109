"""The llama.cpp engine's decode loop: every active request of a GGUF model in one llama_batch.

Each request owns a sequence id of one context, and with it a KV stream of its own (an even
share of its context; not `kv_unified`, whose shared cells made batched answers differ from
one-at-a-time ones). A step is ONE `llama_decode` of a batch holding, for every decoding
request, its last token at its own position under its own sequence id, and then as many
prompt tokens of prefilling requests as the prefill budget allows (a long prompt is read over
several steps, at most `PASS_ROWS` tokens a step; several short ones in one). Logits are
asked only where a token is to be chosen. Each request samples with its own llama.cpp sampler
chain. A request that finishes or is cancelled leaves between two steps; its stream stays,
kept for the conversation's next turn, until a running request needs its sequence id
(llamacpp/streams.py, which says which id holds what).

A model has a loop per llama.cpp context over the same weights: one of many short streams and
one of a few of the model's whole context (`kv_pools` in llamacpp/engine.py says why).

With a KV stream per sequence llama.cpp splits a batch into one forward pass per run of
consecutive sequence ids in increasing order (`split_equal`, sequential). So the batch lists
its sequences by id, running requests hold consecutive ids (kept streams sit beside them),
and when one leaves from the middle, the request with the highest id moves into the gap
(`llama_memory_seq_cp` copies its stream; the cells keep their places, so its answer does not
change). Measured on 2 cores with 32 streams: a step in one pass 87 ms, the same step out of
order 290 ms.

A request whose prompt starts with what a kept stream holds (the conversation's history, up to
its last answer) reads only the rest. The kept cells hold what a fresh read of the same tokens
would write: an answer's tokens were each computed alone in their row by the same kernels a
prompt's are (below), so the next turn's answer is the one a fresh read would give.

A request whose prompt begins like one already read (a chat's system prompt, the same document)
does not read that part again: its stream starts as a copy of that request's
(`llama_memory_seq_cp`, again a whole-stream copy: megabytes, where reading even
`MIN_SHARED_TOKENS` tokens is a forward pass) with the cells past the shared part dropped. Of
requests that arrive together, those that would share with one read in the same step wait one
step and copy it. The copied cells hold what reading the same tokens at the same positions
would have written, so answers do not change.

Batched answers equal one-at-a-time ones because every token's attention is computed by the
same ggml kernel whatever else is in the batch: ggml's flash attention has two other kernels,
one for 64 or more rows of a stream in a pass (never made: `PASS_ROWS`) and one for a lone
token of a deep stream (never made: `_pair_lone_tokens`), and each rounds otherwise.

A kept stream that is evicted, and every kept stream when the engine closes, is saved to disk
with llama.cpp's per-sequence state API (llamacpp/saved_states.py). A request whose prompt
starts with more of a saved state's tokens than a kept stream holds restores it into its own
stream and reads only the rest: the restored cells are those a read of the same tokens wrote,
at the same positions, so the answer is the one a fresh read gives.

This is how llama.cpp's own server batches its slots, with Parley's admission in front.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp as lc
import numpy as np

from parley.engine.base import SamplingParams
from parley.engine.batch_queue import BatchLimits
from parley.engine.decode_loop import DecodeLoop
from parley.engine.llamacpp.grammar import Constraint, Grammar
from parley.engine.llamacpp.saved_states import SavedStates
from parley.engine.llamacpp.streams import StreamTable, common_prefix
from parley.engine.logprobs import asked_choice
from parley.engine.sequence import SequenceState

# The shortest shared prompt start worth a stream copy instead of reading it.
MIN_SHARED_TOKENS = 16
# The most tokens of one stream in one of llama.cpp's passes: from GGML_FA_TILE_Q (64) query
# rows on, ggml computes flash attention with a tiled kernel that rounds otherwise, and a
# prompt's logits would depend on how it was cut (measured up to 1.8 apart).
PASS_ROWS = 63
# llama.cpp attends over a stream's cells in blocks of this many (`llama_kv_cache::get_n_kv`).
KV_BLOCK = 256
# A saved state is restored when the prompt shares at least this share (1/n) of its tokens.
RESTORE_SHARE = 8


@dataclass(eq=False, slots=True, kw_only=True)
class LlamaSequence(SequenceState):
    seq_id: int = -1
    # The llama.cpp sampler chain, made at admission and freed when the request leaves; None
    # for plain greedy decoding, which takes the most likely token itself.
    sampler: Any = None
    # What the answer must be (llamacpp/grammar.py); None: anything.
    grammar: Grammar | None = None
    # Its sampler, made at admission and freed when the request leaves like `sampler`.
    constraint: Constraint | None = None


def new_sampler(params: SamplingParams, prompt_ids: Sequence[int], n_vocab: int) -> Any:
    """A llama.cpp sampler chain for one request, in llama.cpp's usual order: repetition
    penalty, top-k, top-p, temperature, then a seeded draw (or greedy at temperature 0).
    None for greedy without a penalty: one argmax over the step's logits in numpy costs less
    than a chain call per request (each copies the whole vocabulary's logits; 4% of a step)."""
    if params.temperature <= 0 and params.repetition_penalty == 1.0:
        return None
    chain_params = lc.llama_sampler_chain_default_params()
    chain_params.no_perf = True
    chain = lc.llama_sampler_chain_init(chain_params)
    if params.repetition_penalty != 1.0:
        # Over the whole prompt and answer, like the transformers engine's penalty.
        window = len(prompt_ids) + params.max_tokens
        penalties = lc.llama_sampler_init_penalties(
            n_vocab, window, params.repetition_penalty, 0.0, 0.0
        )
        lc.llama_sampler_chain_add(chain, penalties)
        for token in prompt_ids:
            lc.llama_sampler_accept(chain, token)
    if params.temperature <= 0:
        lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_greedy())
        return chain
    if params.top_k > 0:
        lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_k(params.top_k))
    if params.top_p < 1.0:
        lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_p(params.top_p, 1))
    lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_temp(params.temperature))
    seed = lc.LLAMA_DEFAULT_SEED if params.seed is None else params.seed & 0xFFFFFFFF
    lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_dist(seed))
    return chain


class LlamaLoop(DecodeLoop[LlamaSequence]):
    def __init__(
        self,
        context: Any,
        vocab: Any,
        limits: BatchLimits,
        batch_tokens: int,
        name: str,
        saved: SavedStates | None = None,
    ) -> None:
        super().__init__(limits, name)
        self._context = context
        # The KV cells of each sequence's stream: the longest prompt plus answer it holds.
        self.stream_tokens = int(lc.llama_n_ctx_seq(context))
        self._vocab = vocab
        self._n_vocab = lc.llama_vocab_n_tokens(vocab)
        self._memory = lc.llama_get_memory(context)
        self._batch_tokens = batch_tokens
        self._n_ubatch = lc.llama_n_ubatch(context)
        self._batch = lc.llama_batch_init(batch_tokens, 0, 1)
        self._kv = _LlamaStreams(self._memory)
        self._saved = saved
        self._streams = StreamTable(
            self._kv, limits.max_sequences, MIN_SHARED_TOKENS, on_evict=self._save
        )
        # Prompt tokens not read because they were copied from another request's stream.
        self.prompt_tokens_copied = 0
        # Prompt tokens not read because a kept stream of an earlier answer held them.
        self.prompt_tokens_kept = 0
        # Prompt tokens not read because a state saved on disk held them.
        self.prompt_tokens_restored = 0
        # Owned by the loop thread.
        self._prefilling: list[LlamaSequence] = []
        self._running: list[LlamaSequence] = []
        self.start()

    def close(self) -> None:
        super().close()
        if self._saved is not None:
            for seq_id, tokens in self._streams.kept_streams():
                self._save(seq_id, tokens)
            self._saved.close()
        lc.llama_batch_free(self._batch)

    def active(self) -> Sequence[LlamaSequence]:
        return [*self._prefilling, *self._running]

    def admit(self, sequences: Sequence[LlamaSequence]) -> None:
        for sequence in sequences:
            claim = self._streams.claim(sequence.prompt_ids)
            sequence.seq_id = claim.seq_id
            sequence.prefilled = sequence.reused_tokens = claim.reused
            if self._saved is not None and claim.reused + 1 < len(sequence.prompt_ids):
                self._restore(sequence, self._saved)
            if sequence.prefilled == claim.reused:
                self.prompt_tokens_kept += claim.reused
            sequence.sampler = new_sampler(sequence.params, sequence.prompt_ids, self._n_vocab)
            if sequence.grammar is not None:
                sequence.constraint = Constraint(sequence.grammar, self._vocab)
            self._prefilling.append(sequence)

    def remove(self, sequences: set[LlamaSequence]) -> None:
        for sequence in sequences:
            if sequence.sampler is not None:
                lc.llama_sampler_free(sequence.sampler)
                sequence.sampler = None
            if sequence.constraint is not None:
                sequence.constraint.free()
                sequence.constraint = None
        self._prefilling = [s for s in self._prefilling if s not in sequences]
        self._running = [s for s in self._running if s not in sequences]
        moves = self._streams.release([(s.seq_id, _held_tokens(s)) for s in sequences])
        for sequence in self.active():
            sequence.seq_id = moves.get(sequence.seq_id, sequence.seq_id)

    def _save(self, seq_id: int, tokens: list[int]) -> None:
        """Hand a stream's state to the saved states (written on their thread)."""
        if self._saved is None:
            return
        self._settle(seq_id)
        size = lc.llama_state_seq_get_size(self._context, seq_id)
        state = bytearray(size)
        buffer = (ctypes.c_uint8 * size).from_buffer(state)
        if lc.llama_state_seq_get_data(self._context, buffer, size, seq_id) == size:
            self._saved.save(tokens, state)

    def _restore(self, sequence: LlamaSequence, saved: SavedStates) -> None:
        """Start the request from the saved state sharing the most of its prompt, when that
        is more than its stream holds already and worth reading the state for (a state
        costs its whole size to restore, however little of it is used)."""
        shared, found = saved.best(sequence.prompt_ids)
        shared = min(shared, len(sequence.prompt_ids) - 1)
        if found is None or shared <= sequence.prefilled:
            return
        if shared < max(MIN_SHARED_TOKENS, len(found.tokens) // RESTORE_SHARE):
            return
        data = saved.read(found)
        if data is None:
            return
        seq_id = sequence.seq_id
        self._settle(seq_id)
        buffer = (ctypes.c_uint8 * len(data)).from_buffer(data)
        restored = lc.llama_state_seq_set_data(self._context, buffer, len(data), seq_id)
        if restored != len(data) or lc.llama_memory_seq_pos_max(self._memory, seq_id) + 1 < shared:
            # llama.cpp refused it, or it holds less than its tokens say: never again.
            saved.discard(found)
            self._kv.clear(seq_id)
            sequence.prefilled = sequence.reused_tokens = 0
            return
        self._kv.trim(seq_id, shared)
        self.prompt_tokens_restored += shared
        sequence.prefilled = sequence.reused_tokens = shared
        if shared == len(found.tokens):  # Its stream holds all of it now, and more later.
            saved.discard(found)

    def _settle(self, seq_id: int) -> None:
        """Run the stream copies llama.cpp has queued for its next decode: the state API reads
        and writes the KV buffers at once. One token is decoded into `seq_id`'s stream past
        what it holds (with the copies before it), then dropped."""
        if not self._kv.copies_queued:
            return
        position = lc.llama_memory_seq_pos_max(self._memory, seq_id) + 1
        put_token(self._batch, 0, 0, position, seq_id, False)
        self._batch.n_tokens = 1
        status = lc.llama_decode(self._context, self._batch)
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status}")
        self._kv.trim(seq_id, position)
        self._kv.copies_queued = False

    def _copy_shared_start(self, sequence: LlamaSequence) -> None:
        """Start a request that has read nothing from the longest prompt start it shares with
        one that has (the last prompt token is always read: it gives the first answer token)."""
        shared, donor = max(
            ((_shared(sequence, other, other.prefilled), other.seq_id) for other in self.active()),
            default=(0, -1),
        )
        shared = min(shared, len(sequence.prompt_ids) - 1)
        if shared < MIN_SHARED_TOKENS:
            return
        # Queued like the table's moves: they all run, in order, before the next decode.
        self._kv.copy(donor, sequence.seq_id)
        self._kv.trim(sequence.seq_id, shared)
        sequence.prefilled = sequence.reused_tokens = shared
        self.prompt_tokens_copied += shared

    def step(self) -> None:
        try:
            self._step()
        except BaseException:
            self._streams.spoil()
            raise

    def _step(self) -> None:
        spans = self._plan()
        if not spans:
            return
        _pair_lone_tokens(spans, self._n_ubatch)
        batch = self._batch
        # (sequence, index of its logits in the batch) for every token to choose this step.
        choosing: list[tuple[LlamaSequence, int]] = []
        count = 0
        for span in spans:
            sequence = span.sequence
            if span.reread:
                lc.llama_memory_seq_rm(self._memory, sequence.seq_id, span.start, -1)
            last = _last_position(sequence)
            for position in range(span.start, span.end):
                if position == last:
                    choosing.append((sequence, count))
                token = _token_at(sequence, position)
                put_token(batch, count, token, position, sequence.seq_id, position == last)
                count += 1
            if not sequence.generated:
                sequence.prefilled = span.end
        batch.n_tokens = count
        status = lc.llama_decode(self._context, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status}")
        self._kv.copies_queued = False
        starting = [s for s in self._prefilling if s.prefilled == len(s.prompt_ids)]
        self._prefilling = [s for s in self._prefilling if s not in starting]
        self._running.extend(starting)
        if not choosing:  # Only part of a long prompt was read.
            return
        finished: set[LlamaSequence] = set()
        # Row i holds the logits of the i-th token that asked for them, in batch order.
        logits = np.ctypeslib.as_array(
            lc.llama_get_logits(self._context), shape=(len(choosing), self._n_vocab)
        )
        for row, (sequence, index) in enumerate(choosing):
            if sequence.constraint is not None:
                token = sequence.constraint.choose(logits[row], sequence.sampler)
            elif sequence.sampler is None:
                token = int(logits[row].argmax())
            else:
                token = lc.llama_sampler_sample(sequence.sampler, self._context, index)
            # The sampler worked on a copy: the row is still the model's distribution.
            choice = asked_choice(sequence.params, logits[row], token)
            is_end = lc.llama_vocab_is_eog(self._vocab, token)
            if not sequence.accept(token, is_end=is_end, choice=choice):
                finished.add(sequence)
        self.remove(finished)

    def _plan(self) -> list[_Span]:
        """This step's tokens, by sequence id: every decoding request's last token, then as
        many prompt tokens as the prefill budget allows, first come first read."""
        spans = [_Span(s, _last_position(s), _last_position(s) + 1) for s in self._running]
        # A row per active request is kept for _pair_lone_tokens.
        budget = min(
            self.prefill_budget(decoding=bool(self._running)),
            self._batch_tokens - len(self.active()),
        )
        reading: list[_Span] = []
        for sequence in self._prefilling:
            if budget <= 0:
                break
            if sequence.prefilled == 0:
                self._copy_shared_start(sequence)
                if sequence.prefilled == 0 and any(
                    _shared(sequence, span.sequence, span.end) >= MIN_SHARED_TOKENS
                    for span in reading
                ):
                    continue  # Copies the start that `span` reads now, next step.
            first = sequence.prefilled
            end = min(first + budget, first + PASS_ROWS, len(sequence.prompt_ids))
            reading.append(_Span(sequence, first, end))
            budget -= end - first
        return sorted([*spans, *reading], key=lambda span: span.sequence.seq_id)


@dataclass(slots=True)
class _Span:
    """One sequence's tokens in a step's batch: positions `first` to `end`, and with
    `reread` the one before them again (it was read already; see _pair_lone_tokens)."""

    sequence: LlamaSequence
    first: int
    end: int
    reread: bool = False

    @property
    def start(self) -> int:
        return self.first - 1 if self.reread else self.first


def _pair_lone_tokens(spans: list[_Span], n_ubatch: int) -> None:
    """Leave no token of a deep stream alone in one of llama.cpp's passes.

    For a pass holding one token of one stream whose context fills more than KV_BLOCK cells,
    ggml splits that token's attention between the threads, which rounds otherwise than the
    same token computed beside others' (measured 1.8-5 apart in logits). A prompt chunk that
    would leave its last token alone reads one token fewer this step; a lone token reads its
    predecessor again beside it (the same cell is rewritten with what it held)."""
    for _ in range(2 * len(spans)):  # Each change settles its span; bounded all the same.
        lone = _lone_deep_token(spans, n_ubatch)
        if lone is None:
            return
        if lone.end - lone.first >= 2:
            lone.end -= 1
        else:
            lone.reread = True


def _lone_deep_token(spans: Sequence[_Span], n_ubatch: int) -> _Span | None:
    """The span of a token llama.cpp would decode alone in a pass while its stream holds more
    than KV_BLOCK cells, if any. This follows llama.cpp's `split_equal` for KV streams of their
    own: a pass takes a run of consecutive sequence ids, each with as many tokens as the
    shortest has left (at most `n_ubatch` in all)."""
    remaining = [span.end - span.start for span in spans]
    while True:
        first = next((i for i, left in enumerate(remaining) if left), None)
        if first is None:
            return None
        run = [first]
        for i in range(first + 1, len(spans)):
            if remaining[i] and spans[i].sequence.seq_id == spans[run[-1]].sequence.seq_id + 1:
                run.append(i)
        rows = min(min(remaining[i] for i in run), max(1, n_ubatch // len(run)))
        span = spans[first]
        if len(run) == 1 and rows == 1 and span.end - remaining[first] >= KV_BLOCK:
            return span
        for i in run:
            remaining[i] -= rows


def _last_position(sequence: LlamaSequence) -> int:
    """The position of the sequence's last known token: the one whose logits choose the next."""
    return len(sequence.prompt_ids) + len(sequence.generated) - 1


def _token_at(sequence: LlamaSequence, position: int) -> int:
    read = len(sequence.prompt_ids)
    return sequence.prompt_ids[position] if position < read else sequence.generated[position - read]


def put_token(batch: Any, index: int, token: int, position: int, seq_id: int, logits: bool) -> None:
    """Entry `index` of a llama_batch: `token` at `position` of one sequence, with its logits
    kept when `logits`."""
    batch.token[index] = token
    batch.pos[index] = position
    batch.n_seq_id[index] = 1
    batch.seq_id[index][0] = seq_id
    batch.logits[index] = logits


def _shared(sequence: LlamaSequence, other: LlamaSequence, read: int) -> int:
    """How many tokens `sequence`'s prompt shares at its start with the first `read` of
    `other`'s."""
    return common_prefix(sequence.prompt_ids, other.prompt_ids[:read])


def _held_tokens(sequence: LlamaSequence) -> list[int]:
    """The tokens whose KV the sequence's stream holds: what it read (of an answer, every
    token but the last chosen, which was never read)."""
    if not sequence.generated:
        return sequence.prompt_ids[: sequence.prefilled]
    return [*sequence.prompt_ids, *sequence.generated[:-1]]


class _LlamaStreams:
    """`KvStreams` on a llama.cpp context's memory."""

    def __init__(self, memory: Any) -> None:
        self._memory = memory
        # Whether a copy waits for the next decode (llama.cpp runs copies between streams then).
        self.copies_queued = False

    def copy(self, source: int, target: int) -> None:
        lc.llama_memory_seq_cp(self._memory, source, target, -1, -1)
        self.copies_queued = True

    def clear(self, seq_id: int) -> None:
        lc.llama_memory_seq_rm(self._memory, seq_id, -1, -1)

    def trim(self, seq_id: int, keep: int) -> None:
        lc.llama_memory_seq_rm(self._memory, seq_id, keep, -1)


def token_bytes(vocab: Any, token: int) -> bytes:
    """The bytes one token stands for; control tokens (end of turn and such) stand for none."""
    buffer = ctypes.create_string_buffer(64)
    size = lc.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, False)
    if size < 0:
        buffer = ctypes.create_string_buffer(-size)
        size = lc.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, False)
    return buffer.raw[:size]
