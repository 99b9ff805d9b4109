"""Log probabilities on both engines (transformers, llama.cpp) with the real SmolLM2: they line
up with the streamed text, are of the model's own distribution, and cost nothing unasked."""

from __future__ import annotations

import dataclasses
import math

import pytest

from parley.engine.base import Engine
from parley.protocol import Pieces, TokenLogprob
from tests.engine.helpers import GREEDY, answer

pytestmark = pytest.mark.model

QUESTION = "Write a haiku about the sea."


def logprobs_of(events: list[object]) -> list[TokenLogprob]:
    return [entry for e in events if isinstance(e, Pieces) for entry in e.logprobs]


async def test_greedy_logprobs_spell_the_answer_and_rank_the_chosen_token_first(
    smollm2: Engine,
) -> None:
    plain, _, plain_events = await answer(smollm2, "lp-plain", QUESTION)
    assert logprobs_of(plain_events) == []  # Not asked: none made.
    params = dataclasses.replace(GREEDY, logprobs=5)
    text, finished, events = await answer(smollm2, "lp-greedy", QUESTION, params)
    assert text == plain  # Asking changes nothing about the answer.
    entries = logprobs_of(events)
    assert "".join(entry.token for entry in entries) == text
    # Every token but the end of turn has one.
    assert len(entries) in (finished.usage.completion_tokens, finished.usage.completion_tokens - 1)
    for entry in entries:
        assert entry.logprob <= 0
        assert len(entry.top) == 5
        ranked = [top.logprob for top in entry.top]
        assert ranked == sorted(ranked, reverse=True)
        # Greedy chose the likeliest token: the first alternative is itself.
        assert entry.top[0].token_bytes == entry.token_bytes
        assert entry.top[0].logprob == entry.logprob
        assert sum(math.exp(lp) for lp in ranked) <= 1 + 1e-6


async def test_a_stop_string_cuts_the_logprobs_where_it_cuts_the_text(smollm2: Engine) -> None:
    reference, _, _ = await answer(smollm2, "lp-ref", QUESTION)
    stop = reference[10:14]
    params = dataclasses.replace(GREEDY, stop=(stop,), logprobs=0)
    text, _, events = await answer(smollm2, "lp-stop", QUESTION, params)
    entries = logprobs_of(events)
    assert text == reference[: reference.index(stop)]
    assert "".join(entry.token for entry in entries) == text
    assert all(entry.top == () for entry in entries)


async def test_sampled_logprobs_are_of_the_model_before_the_sampler(smollm2: Engine) -> None:
    """At a low temperature the sampler's distribution is sharper than the model's: reported
    log probabilities stay the model's, the same whatever the temperature."""
    greedy = dataclasses.replace(GREEDY, max_tokens=6, logprobs=1)
    _, _, events = await answer(smollm2, "lp-t0", QUESTION, greedy)
    cold = dataclasses.replace(greedy, temperature=0.05, seed=3)
    _, _, cold_events = await answer(smollm2, "lp-cold", QUESTION, cold)
    first, cold_first = logprobs_of(events)[0], logprobs_of(cold_events)[0]
    assert cold_first.top[0].token_bytes == first.top[0].token_bytes
    assert cold_first.top[0].logprob == pytest.approx(first.top[0].logprob, abs=1e-4)
