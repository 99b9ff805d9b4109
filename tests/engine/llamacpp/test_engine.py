"""How llama.cpp's KV pool is laid out (`kv_pools`), and on the real SmolLM2 that a request too
long for the short streams runs in a stream of the whole context: alone at once, queued while
those are taken, never holding back the short ones nor disturbing a running answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from parley.engine.llamacpp.engine import KvPool, LlamaCppEngine, kv_pools
from parley.engine.specs import EngineChoice
from parley.protocol import Queued
from tests.engine.helpers import answer
from tests.engine.llamacpp.test_loop import DEEP_NOTES, alone, fresh_llamacpp

CONTEXT = 8192


def test_many_short_streams_and_a_quarter_of_the_pool_in_streams_of_the_whole_context() -> None:
    # The default 4 GiB of SmolLM2's KV (23,040 bytes a token) and 64 runs.
    pools = kv_pools(186_413, 64, CONTEXT)
    assert pools == [KvPool(64, 2048), KvPool(5, CONTEXT)]
    assert sum(p.streams * p.stream_tokens for p in pools) <= 186_413


def test_a_pool_smaller_than_four_contexts_still_has_one_long_stream() -> None:
    assert kv_pools(46_603, 32, CONTEXT) == [KvPool(32, 1024), KvPool(1, CONTEXT)]
    # Smaller than four contexts: one stream of a quarter of the pool.
    assert kv_pools(11_650, 8, CONTEXT) == [KvPool(8, 1024), KvPool(1, 2816)]


def test_a_pool_that_holds_every_whole_context_or_too_small_to_split_is_split_evenly() -> None:
    assert kv_pools(64 * CONTEXT, 64, CONTEXT) == [KvPool(64, CONTEXT)]
    assert kv_pools(CONTEXT, 1, CONTEXT) == [KvPool(1, CONTEXT)]
    # Short streams of less than a block of cells are not worth a context of their own.
    assert kv_pools(10_000, 64, CONTEXT) == [KvPool(64, 10_000 // 64)]


@pytest.mark.model
async def test_long_requests_queue_for_the_long_stream_while_short_ones_run(
    engine_kind: EngineChoice, model_data_dir: Path
) -> None:
    if engine_kind != "llamacpp":
        pytest.skip("llama.cpp lays out its KV pool in streams")
    # engine_settings' pool: 8 streams of 1,024 tokens and one of 2,816. Some 1,200 tokens of
    # notes need more than a short stream holds.
    notes = DEEP_NOTES * 3
    questions = [notes + "Which lighthouse is the oldest?", notes + "Which are blue?"]
    expected = await alone(model_data_dir, questions)
    assert all(prompt_tokens > 1024 for _, prompt_tokens in expected)
    async with fresh_llamacpp(model_data_dir) as engine:
        assert isinstance(engine, LlamaCppEngine)
        assert engine.card.context_length == 2816
        first, second, short = await asyncio.gather(
            answer(engine, "long-1", questions[0]),
            answer(engine, "long-2", questions[1]),
            answer(engine, "short", "What is the capital of France?"),
        )
    # The second waited for the long stream; the short one ran at once beside the first.
    assert second[2][0] == Queued(position=1)
    assert not any(isinstance(e, Queued) for e in [*first[2], *short[2]])
    assert [first[0], second[0]] == [text for text, _ in expected]
    assert short[0].strip()
