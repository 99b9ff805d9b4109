"""Log probabilities of chosen tokens, from one row of logits. Torch-free (numpy).

They are of the model's own distribution, as OpenAI and vLLM report them: computed from the
logits before a sampler's penalty, top-k/top-p or temperature changed them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from parley.engine.base import SamplingParams


@dataclass(frozen=True, slots=True)
class TokenChoice:
    """A chosen token's log probability and the `top` likeliest (token, log probability)
    at its step, most likely first; token ids, spelled out by the sequence."""

    logprob: float
    top: tuple[tuple[int, float], ...]


def token_choice(row: np.ndarray[Any, Any], token: int, top: int) -> TokenChoice:
    """The log-softmax of `row` at `token` and at its `top` largest entries."""
    shifted = row.astype(np.float64) - float(row.max())
    log_total = float(np.log(np.exp(shifted).sum()))
    likeliest: list[tuple[int, float]] = []
    if top > 0:
        ids = np.argpartition(shifted, -top)[-top:]
        ids = ids[np.argsort(-shifted[ids], kind="stable")]
        likeliest = [(int(i), float(shifted[i]) - log_total) for i in ids]
    return TokenChoice(float(shifted[token]) - log_total, tuple(likeliest))


def asked_choice(
    params: SamplingParams, row: np.ndarray[Any, Any], token: int
) -> TokenChoice | None:
    """The token's log probabilities where the request asked for them; nothing is computed
    for one that did not."""
    if params.logprobs is None:
        return None
    return token_choice(row, token, params.logprobs)
