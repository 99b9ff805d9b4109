"""GGUF models on llama.cpp, in the server's own process (llama-cpp-python's low-level API).

The GGUF file is read as it is (no conversion, its own quantization), the prompt is rendered
with the model's chat template (from the GGUF, or the one the models file names) by the same
Jinja renderer transformers uses, and generation runs in `LlamaLoop` (loop.py): every
conversation of the model decoded together in one llama_batch, each conversation's KV kept
between its turns (streams.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import llama_cpp as lc
import numpy as np
from transformers.utils.chat_template_utils import render_jinja_template

from parley.engine.base import GenerationRequest, ModelCard
from parley.engine.batch_queue import BatchLimits
from parley.engine.batched import BatchedEngine
from parley.engine.config import EngineConfig
from parley.engine.decode_loop import IDLE_PREFILL_TOKENS
from parley.engine.llamacpp.grammar import grammar_sampler, request_grammar
from parley.engine.llamacpp.loop import (
    PASS_ROWS,
    LlamaLoop,
    LlamaSequence,
    put_token,
    token_bytes,
)
from parley.engine.specs import (
    ModelSpec,
    chat_template_text,
    gguf_type_of,
    reads_enable_thinking,
)
from parley.engine.structured import checked_output, constrains
from parley.engine.tool_prompts import TemplateMessage, TemplateTools
from parley.protocol import AnswerProgress

log = logging.getLogger(__name__)
# llama.cpp's own log (through llama-cpp-python's logger) prints every load detail otherwise.
logging.getLogger("llama-cpp-python").setLevel(logging.WARNING)

# llama.cpp's bound on sequences in one context.
_MAX_SEQUENCES = 256
# A 16-bit key and value per layer, KV head and head dimension.
_KV_ELEMENT_BYTES = 2

_backend_ready = False


def _ignore_progress(fraction: float) -> None:
    pass


def _metadata(model: Any, key: str) -> str | None:
    buffer = ctypes.create_string_buffer(1 << 16)
    size = lc.llama_model_meta_val_str(model, key.encode(), buffer, len(buffer))
    if size < 0:
        return None
    if size >= len(buffer):
        buffer = ctypes.create_string_buffer(size + 1)
        lc.llama_model_meta_val_str(model, key.encode(), buffer, len(buffer))
    return buffer.value.decode("utf-8", errors="replace")


def gguf_precision(model: Any) -> str:
    """The GGUF's weight type as llama.cpp names it ("Q4_1", "Q8_0", "F16")."""
    file_type = _metadata(model, "general.file_type")
    if file_type is None or not file_type.isdigit():
        return "gguf"
    return gguf_type_of(int(file_type)) or f"gguf-type-{file_type}"


def cpu_threads(config: EngineConfig) -> int:
    return config.cpu_threads or os.cpu_count() or 1


def _load_model(gguf: Path) -> Any:
    global _backend_ready
    if not _backend_ready:
        lc.llama_backend_init()
        _backend_ready = True
    model_params = lc.llama_model_default_params()
    model_params.n_gpu_layers = 0
    model = lc.llama_model_load_from_file(str(gguf).encode(), model_params)
    if not model:
        raise RuntimeError(f"llama.cpp could not load {gguf}")
    return model


def _new_context(model: Any, tokens: int, batch_tokens: int, sequences: int, threads: int) -> Any:
    """A context of `tokens` KV cells, split evenly between `sequences`."""
    params = lc.llama_context_default_params()
    params.n_ctx = tokens
    params.n_batch = batch_tokens
    params.n_seq_max = sequences
    params.n_threads = threads
    params.n_threads_batch = threads
    # A KV stream of its own per sequence: attention then reads each sequence's cells as if it
    # ran alone, so batching never changes an answer (with one unified pool it did: the cells'
    # layout changes the rounding) and a step does not attend over every sequence's cells.
    params.kv_unified = False
    # Flash attention: at 32 streams a step takes ~25% less than with attention as matrix
    # products, which compute every stream over at least 256 cells, used or not. Its other
    # kernels round otherwise; loop.py keeps batches off them.
    params.flash_attn_type = lc.LLAMA_FLASH_ATTN_TYPE_ENABLED
    params.no_perf = True
    context = lc.llama_init_from_model(model, params)
    if not context:
        raise RuntimeError(f"llama.cpp could not make a context of {tokens} tokens")
    return context


def _kv_bytes_per_token(model: Any) -> int:
    head_dim = lc.llama_model_n_embd(model) // lc.llama_model_n_head(model)
    layers, kv_heads = lc.llama_model_n_layer(model), lc.llama_model_n_head_kv(model)
    return 2 * layers * kv_heads * head_dim * _KV_ELEMENT_BYTES


def load_llamacpp_engine(
    spec: ModelSpec,
    gguf: Path,
    config: EngineConfig,
    on_progress: Callable[[float], None] = _ignore_progress,
) -> LlamaCppEngine:
    """Load a GGUF file on llama.cpp, ready to serve.

    llama.cpp allocates its KV cache when the model loads, so the KV pool is real memory from
    the start: `kv_cache_gib` worth of tokens, at most `max_concurrent_runs` full contexts,
    split evenly between the `max_concurrent_runs` sequences (each conversation's context)."""
    model = _load_model(gguf)
    on_progress(0.7)
    try:
        context_length = int(lc.llama_model_n_ctx_train(model))
        sequences = min(config.max_concurrent_runs, _MAX_SEQUENCES)
        kv_per_token = _kv_bytes_per_token(model)
        pool = min(int(config.kv_cache_gib * 2**30) // kv_per_token, sequences * context_length)
        limits = BatchLimits(
            max_sequences=sequences,
            kv_token_budget=pool,
            prefill_chunk_tokens=config.prefill_chunk_tokens,
        )
        # A step holds a token per decoding stream and the prefill budget.
        batch_tokens = max(config.prefill_chunk_tokens, IDLE_PREFILL_TOKENS) + sequences
        threads = cpu_threads(config)
        context = _new_context(model, pool, batch_tokens, sequences, threads)
    except BaseException:
        lc.llama_model_free(model)
        raise
    on_progress(0.95)
    template = chat_template_text(spec.chat_template) or _metadata(model, "tokenizer.chat_template")
    if template is None:
        lc.llama_free(context)
        lc.llama_model_free(model)
        raise RuntimeError(f"{gguf} has no chat template; name one in the models file")
    card = ModelCard(
        name=spec.id,
        # Each sequence owns its share of the pool: that is the longest prompt plus answer.
        context_length=min(context_length, int(lc.llama_n_ctx_seq(context))),
        think_open=spec.think_open,
        think_close=spec.think_close,
        device="cpu",
        dtype=gguf_precision(model),
        memory_bytes=int(lc.llama_model_size(model)) + pool * kv_per_token,
        engine="llamacpp",
        thinking_toggle=reads_enable_thinking(template),
    )
    log.info(
        "%s on llama.cpp: %s, KV pool %d tokens, %d sequences, %d threads",
        spec.id,
        card.dtype,
        pool,
        sequences,
        threads,
    )
    return LlamaCppEngine(model, context, template, card, limits, batch_tokens)


class LlamaCppEngine(BatchedEngine[LlamaSequence]):
    def __init__(
        self,
        model: Any,
        context: Any,
        template: str,
        card: ModelCard,
        limits: BatchLimits,
        batch_tokens: int,
    ) -> None:
        self._model = model
        self._context = context
        self._vocab = lc.llama_model_get_vocab(model)
        self._template = template
        self._card = card
        self._sequence_kind = LlamaSequence
        self._pieces: dict[int, bytes] = {}
        self._special_tokens = {
            "bos_token": self._token_text(lc.llama_vocab_bos(self._vocab)),
            "eos_token": self._token_text(lc.llama_vocab_eos(self._vocab)),
        }
        self._loop: LlamaLoop = LlamaLoop(context, self._vocab, limits, batch_tokens, card.name)

    @property
    def prompt_tokens_copied(self) -> int:
        """Prompt tokens not read since the load: copied from a request with the same start."""
        return self._loop.prompt_tokens_copied

    @property
    def prompt_tokens_kept(self) -> int:
        """Prompt tokens not read since the load: kept from an earlier answer's stream."""
        return self._loop.prompt_tokens_kept

    def check_request(self, request: GenerationRequest) -> None:
        """A grammar llama.cpp cannot read is refused here, before the answer starts."""
        grammar = request_grammar(request, self.tool_syntax)
        if grammar is not None:
            lc.llama_sampler_free(grammar_sampler(grammar, self._vocab))

    def _sequence_fields(self, request: GenerationRequest) -> dict[str, Any]:
        return {"grammar": request_grammar(request, self.tool_syntax)}

    async def generate(self, request: GenerationRequest) -> AsyncIterator[AnswerProgress]:
        """A constrained answer is checked at its end (its grammar made it parse; a stop
        string may cut it)."""
        stream = super().generate(request)
        if constrains(request):
            stream = checked_output(stream, request)
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for event in stream:
                yield event

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        buffer = ctypes.create_string_buffer(256)
        size = lc.llama_token_to_piece(self._vocab, token, buffer, len(buffer), 0, True)
        return buffer.raw[: max(size, 0)].decode("utf-8", errors="replace")

    def _apply_template(
        self,
        messages: list[TemplateMessage],
        tools: TemplateTools | None,
        *,
        enable_thinking: bool | None,
    ) -> str:
        extra: dict[str, Any] = dict(self._special_tokens)
        if enable_thinking is not None:
            extra["enable_thinking"] = enable_thinking
        # It returns the rendered conversations and their generation indices (typed as a str).
        rendered: Any = render_jinja_template(
            [messages],
            tools=tools,
            chat_template=self._template,
            add_generation_prompt=True,
            **extra,
        )
        return str(rendered[0][0])

    @property
    def _template_source(self) -> str | None:
        return self._template

    def _encode(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        # Never more tokens than bytes, plus room for what a template's specials expand to.
        tokens = (lc.llama_token * (len(data) + 16))()
        # The chat template already wrote every special token; parse them as such.
        count = lc.llama_tokenize(self._vocab, data, len(data), tokens, len(tokens), False, True)
        if count < 0:
            tokens = (lc.llama_token * -count)()
            count = lc.llama_tokenize(self._vocab, data, len(data), tokens, -count, False, True)
        return list(tokens[:count])

    def _decode(self, ids: list[int]) -> str:
        """Text of token ids, control tokens left out; a cut UTF-8 character ends in U+FFFD,
        which the incremental detokenizer waits past."""
        pieces = self._pieces
        for token in ids:
            if token not in pieces:
                pieces[token] = token_bytes(self._vocab, token)
        return b"".join(pieces[token] for token in ids).decode("utf-8", errors="replace")

    async def close(self) -> None:
        if self._context is None:
            return
        await super().close()
        context, self._context = self._context, None
        lc.llama_free(context)
        lc.llama_model_free(self._model)


class LlamaScorer:
    """The quality gate's view of a GGUF on llama.cpp: one sequence, every logit at hand."""

    def __init__(self, gguf: Path, threads: int, max_tokens: int = 2048) -> None:
        self._model = _load_model(gguf)
        self._context = _new_context(self._model, max_tokens, max_tokens, 1, threads)
        self._vocab = lc.llama_model_get_vocab(self._model)
        self._n_vocab = lc.llama_vocab_n_tokens(self._vocab)
        self._batch = lc.llama_batch_init(max_tokens, 0, 1)
        self._threads = threads
        self.name = f"llamacpp/{gguf_precision(self._model)}"

    def _read(
        self, ids: Sequence[int], all_logits: bool
    ) -> list[np.ndarray[Any, np.dtype[np.float64]]]:
        """Read `ids` into a cleared context, `PASS_ROWS` at a time like the engine's loop (so
        with the same kernels); the logits of every token, or of the last."""
        lc.llama_memory_clear(lc.llama_get_memory(self._context), True)
        logits: list[np.ndarray[Any, np.dtype[np.float64]]] = []
        for start in range(0, len(ids), PASS_ROWS):
            chunk = ids[start : start + PASS_ROWS]
            self._decode(chunk, start, all_logits)
            if all_logits:  # The next pass overwrites them.
                logits.extend(self._logits(i) for i in range(len(chunk)))
        return logits if all_logits else [self._logits(-1)]

    def _decode(self, ids: Sequence[int], start: int, all_logits: bool) -> None:
        batch = self._batch
        for i, token in enumerate(ids):
            put_token(batch, i, token, start + i, 0, all_logits or i == len(ids) - 1)
        batch.n_tokens = len(ids)
        status = lc.llama_decode(self._context, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status}")

    def _logits(self, index: int) -> np.ndarray[Any, np.dtype[np.float64]]:
        return self._logits_of(self._context, index).astype(np.float64)

    def _logits_of(self, context: Any, index: int) -> np.ndarray[Any, np.dtype[np.float32]]:
        pointer = lc.llama_get_logits_ith(context, index)
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))

    def log_likelihoods(self, ids: Sequence[int]) -> list[float]:
        scores = []
        for logits, token in zip(self._read(ids, all_logits=True), ids[1:], strict=False):
            peak = logits.max()
            scores.append(float(logits[token] - peak - np.log(np.exp(logits - peak).sum())))
        return scores

    def greedy(self, prompt_ids: Sequence[int], tokens: int) -> list[int]:
        answer = [int(self._read(prompt_ids, all_logits=False)[0].argmax())]
        while len(answer) < tokens:
            self._decode(answer[-1:], len(prompt_ids) + len(answer) - 1, all_logits=False)
            answer.append(int(self._logits(-1).argmax()))
        return answer

    def batched_tokens_per_s(
        self, prompt_ids: Sequence[int], streams: int, steps: int = 16
    ) -> float:
        """Like the engine's decode loop: every stream's token in one batch, a KV stream each."""
        prompt = list(prompt_ids)
        context = _new_context(
            self._model,
            streams * (len(prompt) + steps),
            streams * len(prompt),
            streams,
            self._threads,
        )
        batch = lc.llama_batch_init(streams * len(prompt), 0, 1)

        def decode(entries: Sequence[tuple[int, int, int]]) -> list[int]:
            """Decode (stream, position, token) entries; each stream's last one chooses the
            stream's next token (greedy)."""
            for i, (stream, position, token) in enumerate(entries):
                last = i + 1 == len(entries) or entries[i + 1][0] != stream
                put_token(batch, i, token, position, stream, last)
            batch.n_tokens = len(entries)
            if lc.llama_decode(context, batch) != 0:
                raise RuntimeError("llama_decode failed")
            chosen = [i for i in range(len(entries)) if batch.logits[i]]
            return [int(self._logits_of(context, i).argmax()) for i in chosen]

        try:
            last = decode([(s, p, t) for s in range(streams) for p, t in enumerate(prompt)])
            started = time.perf_counter()
            for step in range(steps):
                last = decode([(s, len(prompt) + step, t) for s, t in enumerate(last)])
            return streams * steps / (time.perf_counter() - started)
        finally:
            lc.llama_batch_free(batch)
            lc.llama_free(context)

    def close(self) -> None:
        lc.llama_batch_free(self._batch)
        lc.llama_free(self._context)
        lc.llama_model_free(self._model)
