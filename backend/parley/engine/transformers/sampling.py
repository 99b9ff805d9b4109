"""Next-token choice for a batch of rows, each with its own sampling parameters and seed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from parley.engine.base import SamplingParams


@dataclass(slots=True)
class RowSampling:
    """What one row of the batch needs to pick its next token."""

    params: SamplingParams
    # Per-request generator: a seeded request draws the same numbers whatever else is batched.
    generator: torch.Generator
    # Prompt and generated ids, for the repetition penalty.
    seen_ids: list[int]


def new_generator(seed: int | None) -> torch.Generator:
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def _apply_repetition_penalty(logits: torch.Tensor, rows: Sequence[RowSampling]) -> None:
    for index, row in enumerate(rows):
        penalty = row.params.repetition_penalty
        if penalty == 1.0 or not row.seen_ids:
            continue
        ids = torch.tensor(sorted(set(row.seen_ids)), device=logits.device)
        scores = logits[index, ids]
        # As in CTRL and transformers: shrink positive scores, push negative ones further down.
        logits[index, ids] = torch.where(scores > 0, scores / penalty, scores * penalty)


def _restrict_top_k(logits: torch.Tensor, rows: Sequence[RowSampling]) -> None:
    for index, row in enumerate(rows):
        k = row.params.top_k
        if 0 < k < logits.shape[-1]:
            threshold = torch.topk(logits[index], k).values[-1]
            logits[index] = logits[index].masked_fill(logits[index] < threshold, -torch.inf)


def _restrict_top_p(probs: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """Keep, per row, the most likely tokens whose mass reaches top_p (at least one token)."""
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
    mass_before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
    sorted_probs = sorted_probs.masked_fill(mass_before >= top_p.unsqueeze(-1), 0.0)
    kept = torch.zeros_like(probs).scatter_(-1, order, sorted_probs)
    return kept / kept.sum(dim=-1, keepdim=True)


def choose_tokens(logits: torch.Tensor, rows: Sequence[RowSampling]) -> list[int]:
    """One token id per row of `logits` ([rows, vocab]); temperature 0 means greedy."""
    # A copy: the penalty below edits it in place, and `.float()` of fp32 logits is no copy.
    logits = logits.to(torch.float32, copy=True)
    _apply_repetition_penalty(logits, rows)
    chosen = logits.argmax(dim=-1)
    sampled = [i for i, row in enumerate(rows) if row.params.temperature > 0]
    if sampled:
        sampled_rows = [rows[i] for i in sampled]
        index = torch.tensor(sampled, device=logits.device)
        temperatures = torch.tensor(
            [row.params.temperature for row in sampled_rows], device=logits.device
        )
        scaled = logits[index] / temperatures.unsqueeze(-1)
        _restrict_top_k(scaled, sampled_rows)
        probs = torch.softmax(scaled, dim=-1)
        top_p = torch.tensor([row.params.top_p for row in sampled_rows], device=logits.device)
        if bool((top_p < 1.0).any()):
            probs = _restrict_top_p(probs, top_p)
        # Inverse-CDF sampling with one uniform draw from each row's own generator.
        draws = torch.cat([torch.rand(1, generator=row.generator) for row in sampled_rows])
        cdf = torch.cumsum(probs, dim=-1)
        # Scaled by the total so rounding that leaves the total below 1 never picks past the end.
        targets = draws.to(logits.device) * cdf[:, -1]
        picks = torch.searchsorted(cdf, targets.unsqueeze(-1)).squeeze(-1)
        chosen[index] = picks.clamp(max=logits.shape[-1] - 1)
    return [int(token) for token in chosen.tolist()]
