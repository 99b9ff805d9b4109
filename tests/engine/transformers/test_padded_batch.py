"""The transformers engine's padded batch on tiny tensors: padding, joins, leaves, the mask."""

from __future__ import annotations

import torch
from transformers import DynamicCache

from parley.engine.transformers.padded_batch import PaddedBatch, left_pad, left_padded_prompts

CPU = torch.device("cpu")


def cache_of(*rows: list[float]) -> tuple[DynamicCache, torch.Tensor]:
    """A one-layer cache whose keys are the given values (one head, width one), left-padded
    like a prefill would leave it, and the matching mask; values are keys times 10."""
    width = max(len(row) for row in rows)
    keys = torch.zeros((len(rows), 1, width, 1))
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        keys[index, 0, width - len(row) :, 0] = torch.tensor(row)
        mask[index, width - len(row) :] = 1
    return DynamicCache([(keys, keys * 10)]), mask


def keys_of(batch: PaddedBatch) -> list[list[float]]:
    assert batch.cache is not None
    keys = next(iter(batch.cache))[0]
    return [[float(x) for x in row] for row in keys[:, 0, :, 0]]


def test_left_pad_adds_zeros_at_the_start_of_one_dimension() -> None:
    tensor = torch.tensor([[1, 2], [3, 4]])
    assert left_pad(tensor, 4, -1).tolist() == [[0, 0, 1, 2], [0, 0, 3, 4]]
    assert left_pad(tensor, 3, -2).tolist() == [[0, 0], [1, 2], [3, 4]]
    assert left_pad(tensor, 2, -1) is tensor


def test_prompts_are_left_padded_with_positions_counting_each_rows_own_tokens() -> None:
    ids, mask, positions = left_padded_prompts([[5, 6, 7], [8]], CPU)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert positions.tolist() == [[0, 1, 2], [0, 0, 0]]


def test_rows_joining_a_wider_batch_are_padded_on_the_left() -> None:
    batch = PaddedBatch()
    batch.join(*cache_of([1, 2, 3]))
    batch.join(*cache_of([4], [5, 6]))
    assert batch.rows == 3
    assert keys_of(batch) == [[1, 2, 3], [0, 0, 4], [0, 5, 6]]
    assert batch.mask is not None
    assert batch.mask.tolist() == [[1, 1, 1], [0, 0, 1], [0, 1, 1]]
    assert batch.cache is not None
    values = next(iter(batch.cache))[1]
    # Values are padded like the keys.
    assert values[1, 0, :, 0].tolist() == [0, 0, 40]


def test_a_wider_newcomer_pads_the_batch_already_running() -> None:
    batch = PaddedBatch()
    batch.join(*cache_of([1]))
    batch.join(*cache_of([2, 3, 4]))
    assert keys_of(batch) == [[0, 0, 1], [2, 3, 4]]


def test_only_the_chosen_rows_of_a_prefill_join() -> None:
    batch = PaddedBatch()
    cache, mask = cache_of([1, 2], [3], [4, 5])
    batch.join(cache, mask, rows=[0, 2])
    assert keys_of(batch) == [[1, 2], [4, 5]]


def test_next_step_grows_the_mask_and_gives_each_rows_position() -> None:
    batch = PaddedBatch()
    batch.join(*cache_of([1, 2, 3], [4]))
    mask, positions = batch.next_step()
    assert mask.tolist() == [[1, 1, 1, 1], [0, 0, 1, 1]]
    assert positions.tolist() == [[3], [1]]


def test_dropping_the_longest_row_cuts_the_padding_nobody_needs() -> None:
    batch = PaddedBatch()
    batch.join(*cache_of([1, 2, 3], [4], [5, 6]))
    batch.drop_rows({0})
    assert keys_of(batch) == [[0, 4], [5, 6]]
    assert batch.mask is not None
    assert batch.mask.tolist() == [[0, 1], [1, 1]]
    batch.drop_rows(set())
    assert batch.rows == 2


def test_dropping_every_row_empties_the_batch() -> None:
    batch = PaddedBatch()
    batch.join(*cache_of([1], [2]))
    batch.drop_rows({0, 1})
    assert batch.rows == 0 and batch.cache is None and batch.mask is None
    # An empty batch takes the next rows as they are.
    batch.join(*cache_of([7, 8]))
    assert keys_of(batch) == [[7, 8]]
