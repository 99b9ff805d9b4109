"""How the llama.cpp loop lays out a step's batch so that llama.cpp never computes a token
with another attention kernel than it would beside other streams (no model needed)."""

from __future__ import annotations

from parley.engine.llamacpp.loop import KV_BLOCK, LlamaSequence, _pair_lone_tokens, _Span
from tests.engine.helpers import GREEDY

DEEP = KV_BLOCK + 40


def sequence(seq_id: int, prompt_tokens: int, generated: int = 0) -> LlamaSequence:
    state = LlamaSequence.start(
        f"r{seq_id}", list(range(prompt_tokens)), GREEDY, 64, lambda ids: "", lambda event: None
    )
    state.seq_id = seq_id
    state.generated = list(range(generated))
    state.prefilled = prompt_tokens
    return state


def decoding(seq_id: int, prompt_tokens: int = DEEP) -> _Span:
    state = sequence(seq_id, prompt_tokens, generated=3)
    return _Span(state, prompt_tokens + 2, prompt_tokens + 3)


def reading(seq_id: int, first: int, end: int) -> _Span:
    return _Span(sequence(seq_id, end + 10), first, end)


def test_a_lone_deep_token_reads_its_predecessor_again() -> None:
    spans = [decoding(0)]
    _pair_lone_tokens(spans, 512)
    assert spans[0].reread and spans[0].start == spans[0].first - 1


def test_a_lone_token_in_the_first_block_stays_alone() -> None:
    spans = [decoding(0, prompt_tokens=40)]
    _pair_lone_tokens(spans, 512)
    assert not spans[0].reread


def test_tokens_of_consecutive_streams_share_a_pass() -> None:
    spans = [decoding(0), decoding(1), decoding(2)]
    _pair_lone_tokens(spans, 512)
    assert not any(span.reread for span in spans)


def test_streams_either_side_of_a_gap_each_pass_alone() -> None:
    # llama.cpp takes runs of consecutive ids: 0 and 2 are two passes of one token each.
    spans = [decoding(0), decoding(2)]
    _pair_lone_tokens(spans, 512)
    assert all(span.reread for span in spans)


def test_a_chunk_that_would_leave_its_last_token_alone_reads_one_fewer() -> None:
    # Passes: 50 of each, then the reader's 51st alone.
    spans = [reading(0, DEEP, DEEP + 50), reading(1, DEEP, DEEP + 51)]
    _pair_lone_tokens(spans, 512)
    assert [(span.first, span.end, span.reread) for span in spans] == [
        (DEEP, DEEP + 50, False),
        (DEEP, DEEP + 50, False),
    ]


def test_a_decoding_token_beside_a_chunk_is_not_alone() -> None:
    # Passes: one token of each, then the rest of the chunk (many rows of one stream).
    spans = [decoding(0), reading(1, DEEP, DEEP + 40)]
    _pair_lone_tokens(spans, 512)
    assert not spans[0].reread and spans[1].end == DEEP + 40
