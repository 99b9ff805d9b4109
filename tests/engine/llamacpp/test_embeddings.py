"""The llama.cpp embedder's batching (its vectors: tests/integration/test_openai_embeddings.py)."""

from __future__ import annotations

from parley.engine.llamacpp.embeddings import EMBEDDING_SEQUENCES, _batches


def test_inputs_pack_in_order_within_the_token_and_sequence_bounds() -> None:
    inputs = [[1] * 5, [2] * 5, [3] * 2, [4] * 9, *([[5]] * (EMBEDDING_SEQUENCES + 1))]
    batches = _batches(inputs, max_tokens=10)
    assert [ids for batch in batches for ids in batch] == inputs
    assert all(sum(map(len, batch)) <= 10 for batch in batches)
    assert all(len(batch) <= EMBEDDING_SEQUENCES for batch in batches)
    assert [len(batch) for batch in batches[:3]] == [2, 1, 2]
