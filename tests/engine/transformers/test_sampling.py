"""Next-token choice per row: greedy, penalties, top-k/top-p, seeds."""

from __future__ import annotations

import torch

from parley.engine.base import SamplingParams
from parley.engine.transformers.sampling import RowSampling, choose_tokens, new_generator


def row(seen: list[int] | None = None, seed: int | None = 1, **params: float) -> RowSampling:
    return RowSampling(SamplingParams(**params), new_generator(seed), seen or [])  # type: ignore[arg-type]


LOGITS = torch.tensor([[1.0, 3.0, 2.9, 0.5, -1.0]])


def test_temperature_zero_is_greedy() -> None:
    assert choose_tokens(LOGITS, [row(temperature=0.0)]) == [1]


def test_repetition_penalty_pushes_seen_tokens_down() -> None:
    assert choose_tokens(LOGITS, [row(seen=[1], temperature=0.0, repetition_penalty=1.2)]) == [2]


def test_top_k_one_and_a_tiny_top_p_leave_only_the_best_token() -> None:
    for _ in range(5):
        assert choose_tokens(LOGITS, [row(seed=None, temperature=1.5, top_k=1)]) == [1]
        assert choose_tokens(LOGITS, [row(seed=None, temperature=1.5, top_p=0.01)]) == [1]


def test_top_k_restricts_sampling_to_the_k_best() -> None:
    picks = {choose_tokens(LOGITS, [row(seed=s, temperature=5.0, top_k=2)])[0] for s in range(40)}
    assert picks == {1, 2}


def test_a_seeded_row_draws_the_same_whatever_shares_the_batch() -> None:
    alone = [choose_tokens(LOGITS, [row(seed=9, temperature=3.0)])[0] for _ in range(3)]
    both = torch.cat([LOGITS, LOGITS])
    batched = [
        choose_tokens(both, [row(seed=None, temperature=3.0), row(seed=9, temperature=3.0)])[1]
        for _ in range(3)
    ]
    assert alone == batched
