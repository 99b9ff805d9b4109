"""Embeddings from a GGUF model on llama.cpp: a context of their own on the chat model's
weights, with llama.cpp's pooling over the last hidden states.

The context is apart from the decode loop's (its own KV cells, embeddings on, no logits), so
embedding never touches a chat's streams; the two share the CPU. Inputs go in batches: as many
as fit in the context, one sequence each, in one `llama_decode`; the pooled vector of each
sequence is scaled to unit length, as OpenAI's are. Which inputs share a batch changes a
vector's rounding (about 1e-7 in float32), not more.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import llama_cpp as lc
import numpy as np

from parley.engine.llamacpp.loop import put_token
from parley.engine.specs import EmbeddingPooling

# The longest input, and the most tokens of one batch of inputs.
EMBEDDING_CONTEXT_TOKENS = 2048
# The most inputs in one batch (llama.cpp needs a sequence id each).
EMBEDDING_SEQUENCES = 16

_POOLING = {"mean": lc.LLAMA_POOLING_TYPE_MEAN}


class LlamaEmbedder:
    """Not thread-safe by itself: one batch at a time (a lock), off the event loop."""

    def __init__(
        self, model: Any, pooling: EmbeddingPooling, context_tokens: int, threads: int
    ) -> None:
        params = lc.llama_context_default_params()
        params.n_ctx = params.n_batch = params.n_ubatch = context_tokens
        params.n_seq_max = EMBEDDING_SEQUENCES
        params.n_threads = params.n_threads_batch = threads
        params.embeddings = True
        params.pooling_type = _POOLING[pooling]
        # Cleared before each batch; sequences in one pool attend only to their own cells.
        params.kv_unified = True
        params.no_perf = True
        context = lc.llama_init_from_model(model, params)
        if not context:
            raise RuntimeError(f"llama.cpp could not make an embedding context of {context_tokens}")
        self._context = context
        self._dimensions = lc.llama_model_n_embd(model)
        self._batch = lc.llama_batch_init(context_tokens, 0, 1)
        self._lock = threading.Lock()
        self.max_tokens = context_tokens

    def embed(self, inputs: Sequence[Sequence[int]]) -> list[tuple[float, ...]]:
        """One unit vector per input (each of 1 to `max_tokens` token ids), in order. An input
        given twice is embedded once: the same vector, where two sequences of one batch would
        differ in rounding (their cells lie elsewhere in the pool)."""
        distinct = list(dict.fromkeys(tuple(ids) for ids in inputs))
        vectors: list[tuple[float, ...]] = []
        with self._lock:
            for group in _batches(distinct, self.max_tokens):
                vectors.extend(self._embed_batch(group))
        of = dict(zip(distinct, vectors, strict=True))
        return [of[tuple(ids)] for ids in inputs]

    def _embed_batch(self, group: Sequence[Sequence[int]]) -> list[tuple[float, ...]]:
        lc.llama_memory_clear(lc.llama_get_memory(self._context), True)
        count = 0
        for seq_id, ids in enumerate(group):
            for position, token in enumerate(ids):
                put_token(self._batch, count, token, position, seq_id, True)
                count += 1
        self._batch.n_tokens = count
        status = lc.llama_decode(self._context, self._batch)
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status}")
        vectors = []
        for seq_id in range(len(group)):
            pointer = lc.llama_get_embeddings_seq(self._context, seq_id)
            vector = np.ctypeslib.as_array(pointer, shape=(self._dimensions,)).astype(np.float64)
            norm = float(np.linalg.norm(vector))
            vectors.append(tuple((vector / norm if norm > 0 else vector).tolist()))
        return vectors

    def close(self) -> None:
        with self._lock:  # After the batch under way, if any.
            lc.llama_batch_free(self._batch)
            lc.llama_free(self._context)


def _batches(inputs: Sequence[Sequence[int]], max_tokens: int) -> list[list[Sequence[int]]]:
    """Consecutive inputs packed into batches of at most `max_tokens` tokens and
    EMBEDDING_SEQUENCES inputs."""
    batches: list[list[Sequence[int]]] = []
    tokens = 0
    for ids in inputs:
        if not batches or tokens + len(ids) > max_tokens or len(batches[-1]) == EMBEDDING_SEQUENCES:
            batches.append([])
            tokens = 0
        batches[-1].append(ids)
        tokens += len(ids)
    return batches
