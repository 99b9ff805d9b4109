"""The rows of a transformers batch as one left-padded KV cache and its attention mask.

Every row's cache ends at the same column; its start is hidden by the mask (1 for a token, 0
for padding), and position ids count each row's own tokens, so a row computes what it would
compute alone. Rows join by padding the shorter side on the left and leave by being cut out,
together with the padding columns no remaining row needs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import torch
import torch.nn.functional as F
from transformers import DynamicCache


def left_pad(tensor: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    """Pad `tensor` with zeros at the start of `dim` (a negative index) up to `width`."""
    missing = width - tensor.shape[dim]
    if missing == 0:
        return tensor
    padding = [0, 0] * (-dim - 1) + [missing, 0]
    return F.pad(tensor, padding)


def left_padded_prompts(
    prompts: Sequence[Sequence[int]], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Token ids, attention mask and position ids of several prompts in one padded batch."""
    width = max(len(prompt) for prompt in prompts)
    ids = torch.zeros((len(prompts), width), dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        mask[row, width - len(prompt) :] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(dim=-1) - 1).clamp(min=0)
    return ids, mask, positions


class PaddedBatch:
    """The KV cache and mask of the rows decoding together; empty when no row decodes."""

    def __init__(self) -> None:
        self.cache: DynamicCache | None = None
        self.mask: torch.Tensor | None = None  # [rows, columns]

    @property
    def rows(self) -> int:
        return 0 if self.mask is None else int(self.mask.shape[0])

    def join(
        self, cache: DynamicCache, mask: torch.Tensor, rows: Sequence[int] | None = None
    ) -> None:
        """Append the rows of a freshly prefilled cache (only `rows` of it, when given)."""
        if rows is not None and len(rows) < mask.shape[0]:
            index = torch.tensor(rows, device=mask.device)
            cache.batch_select_indices(index)
            mask = mask[index]
        if self.cache is None or self.mask is None:
            self.cache, self.mask = cache, mask
            return
        width = max(self.mask.shape[1], mask.shape[1])
        layers = [
            (
                torch.cat([left_pad(old_k, width, -2), left_pad(new_k, width, -2)]),
                torch.cat([left_pad(old_v, width, -2), left_pad(new_v, width, -2)]),
            )
            for (old_k, old_v, _), (new_k, new_v, _) in zip(self.cache, cache, strict=True)
        ]
        self.cache = DynamicCache(layers)
        self.mask = torch.cat([left_pad(self.mask, width, -1), left_pad(mask, width, -1)])

    def next_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Grow the mask by the column the coming token fills; its mask and each row's position."""
        assert self.mask is not None
        ones = torch.ones((self.rows, 1), dtype=self.mask.dtype, device=self.mask.device)
        self.mask = torch.cat([self.mask, ones], dim=1)
        return self.mask, self.mask.sum(dim=1, keepdim=True) - 1

    def drop_rows(self, leaving: Collection[int]) -> None:
        """Remove rows, and the padding columns that only they needed."""
        if not leaving or self.cache is None or self.mask is None:
            return
        keep = [i for i in range(self.rows) if i not in leaving]
        if not keep:
            self.clear()
            return
        index = torch.tensor(keep, device=self.mask.device)
        mask = self.mask[index]
        first_used = int(mask.any(dim=0).nonzero()[0])
        self.mask = mask[:, first_used:]
        self.cache = DynamicCache(
            [(k[index, :, first_used:], v[index, :, first_used:]) for k, v, _ in self.cache]
        )

    def clear(self) -> None:
        self.cache = self.mask = None
