"""GGUF models on llama.cpp, in the server's own process (llama-cpp-python's low-level API).

The GGUF file is read as it is (no conversion, its own quantization), the prompt is rendered
with the model's chat template (from the GGUF, or the one the models file names) by the same
Jinja renderer transformers uses, and generation runs in `LlamaLoop` (loop.py): every
conversation of the model decoded together in one llama_batch, each conversation's KV kept
between its turns (streams.py), and on disk when it has to make room or the engine closes
(saved_states.py).

The KV pool (`kv_cache_gib`) is laid out by `kv_pools`, because llama.cpp gives every sequence of
a context a KV stream of the same size, fixed (and allocated) when the context is made: many
short streams for the many short conversations, and a few of the model's whole context for the
long ones, each set in a context and a loop of its own. A request runs in the first whose
streams hold its prompt and longest answer, so one conversation alone on the server may use the
whole context while dozens of short ones still run together. The alternatives, and why not
(docs/performance.md): one unified pool (`kv_unified`) shared on demand makes a step one pass
over the whole batch, so the attention kernel and the cells' layout a token gets depend on what
else runs (batched answers differ from one-at-a-time ones), and every token reads the masks of
every sequence's cells; fewer streams of the whole context would run fewer conversations at
once than `max_concurrent_runs` (22 of 8,192 tokens in SmolLM2's default 4 GiB).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp as lc
import numpy as np
from transformers.utils.chat_template_utils import render_jinja_template

from parley.engine.base import EmbeddingInput, Embeddings, GenerationRequest, ModelCard
from parley.engine.batch_queue import BatchLimits
from parley.engine.batched import BatchedEngine
from parley.engine.config import EngineConfig
from parley.engine.decode_loop import IDLE_PREFILL_TOKENS
from parley.engine.embedding import bad_embedding_input, cannot_embed
from parley.engine.llamacpp.backends import load_cpu_backend
from parley.engine.llamacpp.embeddings import EMBEDDING_CONTEXT_TOKENS, LlamaEmbedder
from parley.engine.llamacpp.grammar import grammar_sampler, request_grammar
from parley.engine.llamacpp.loop import (
    KV_BLOCK,
    PASS_ROWS,
    LlamaLoop,
    LlamaSequence,
    put_token,
    token_bytes,
)
from parley.engine.llamacpp.saved_states import SavedStates, model_identity, state_key
from parley.engine.prompt_text import special_texts_pattern
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
# The pool's share for streams of the whole context, as a fraction's denominator: the rest
# is the short streams' (many short conversations are the usual load).
_LONG_SHARE = 4

_backend_ready = False
# The CPU level llama.cpp loaded where it was built for several (backends.py), else None.
_cpu_variant: str | None = None


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
    global _backend_ready, _cpu_variant
    if not _backend_ready:
        _cpu_variant = load_cpu_backend()
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
    context = lc.llama_init_from_model(
        model, _context_params(tokens, batch_tokens, sequences, threads)
    )
    if not context:
        raise RuntimeError(f"llama.cpp could not make a context of {tokens} tokens")
    return context


def _context_params(tokens: int, batch_tokens: int, sequences: int, threads: int) -> Any:
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
    return params


def _saved_states(
    config: EngineConfig, gguf: Path, precision: str, template: str, context: Any, params: Any
) -> SavedStates | None:
    """The states saved on disk for this model, precision, template and KV layout; None when
    `kv_disk_gib` is 0."""
    if config.kv_disk_gib <= 0:
        return None
    key = state_key(
        {
            "model": model_identity(gguf),
            "precision": precision,
            "template": template,
            "llama_cpp": lc.__version__,
            "kv_unified": bool(params.kv_unified),
            "flash_attn": int(params.flash_attn_type),
            "type_k": int(params.type_k),
            "type_v": int(params.type_v),
            "n_ctx_seq": int(lc.llama_n_ctx_seq(context)),
            "n_seq_max": int(lc.llama_n_seq_max(context)),
        }
    )
    return SavedStates(config.data_dir / "kv", key, int(config.kv_disk_gib * 2**30))


@dataclass(frozen=True, slots=True)
class KvPool:
    """One context's KV: `streams` sequences of `stream_tokens` cells each."""

    streams: int
    stream_tokens: int


def kv_pools(pool_tokens: int, sequences: int, context_length: int) -> list[KvPool]:
    """How `pool_tokens` of KV are laid out, shortest streams first: `sequences` short streams
    and, beside them, as many streams of the whole context as a `_LONG_SHARE`th of the pool
    holds (at least one, of that share when the context is longer). One context split evenly
    where that is as good: a pool that holds every sequence's whole context, or too small to
    split."""
    even = [KvPool(sequences, min(context_length, pool_tokens // sequences))]
    if pool_tokens >= sequences * context_length:
        return even
    share = pool_tokens // _LONG_SHARE
    long_tokens = min(context_length, _blocks(share))
    long_streams = max(1, share // max(long_tokens, 1))
    short_tokens = _blocks((pool_tokens - long_streams * long_tokens) // sequences)
    if short_tokens < KV_BLOCK or short_tokens >= long_tokens:
        return even
    return [KvPool(sequences, short_tokens), KvPool(long_streams, long_tokens)]


def _blocks(tokens: int) -> int:
    """`tokens` rounded down to whole blocks of cells (llama.cpp rounds a stream up to them)."""
    return tokens // KV_BLOCK * KV_BLOCK


def _free(model: Any, contexts: Sequence[Any]) -> None:
    for context in contexts:
        lc.llama_free(context)
    lc.llama_model_free(model)


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
    in `max_concurrent_runs` short streams and a few of the whole context (`kv_pools`)."""
    model = _load_model(gguf)
    on_progress(0.7)
    contexts: list[tuple[Any, BatchLimits, int]] = []
    try:
        context_length = spec.context_length or int(lc.llama_model_n_ctx_train(model))
        sequences = min(config.max_concurrent_runs, _MAX_SEQUENCES)
        kv_per_token = _kv_bytes_per_token(model)
        pool = min(int(config.kv_cache_gib * 2**30) // kv_per_token, sequences * context_length)
        threads = cpu_threads(config)
        for kv in kv_pools(pool, sequences, context_length):
            limits = BatchLimits(
                max_sequences=kv.streams,
                kv_token_budget=kv.streams * kv.stream_tokens,
                prefill_chunk_tokens=config.prefill_chunk_tokens,
            )
            # A step holds a token per decoding stream and the prefill budget.
            batch_tokens = max(config.prefill_chunk_tokens, IDLE_PREFILL_TOKENS) + kv.streams
            tokens = kv.streams * kv.stream_tokens
            context = _new_context(model, tokens, batch_tokens, kv.streams, threads)
            contexts.append((context, limits, batch_tokens))
        embedder = None
        if spec.embeddings is not None:
            embedding_tokens = min(context_length, EMBEDDING_CONTEXT_TOKENS)
            embedder = LlamaEmbedder(model, spec.embeddings, embedding_tokens, threads)
    except BaseException:
        _free(model, [context for context, _, _ in contexts])
        raise
    on_progress(0.95)
    template = chat_template_text(spec.chat_template) or _metadata(model, "tokenizer.chat_template")
    if template is None:
        if embedder is not None:
            embedder.close()
        _free(model, [context for context, _, _ in contexts])
        raise RuntimeError(f"{gguf} has no chat template; name one in the models file")
    streams = [int(lc.llama_n_ctx_seq(context)) for context, _, _ in contexts]
    cells = sum(int(lc.llama_n_ctx(context)) for context, _, _ in contexts)
    card = ModelCard(
        name=spec.id,
        # The longest stream holds the longest prompt plus answer.
        context_length=min(context_length, max(streams)),
        think_open=spec.think_open,
        think_close=spec.think_close,
        device="cpu" if _cpu_variant is None else f"cpu ({_cpu_variant})",
        dtype=gguf_precision(model),
        memory_bytes=int(lc.llama_model_size(model))
        + (cells + (embedder.max_tokens if embedder else 0)) * kv_per_token,
        engine="llamacpp",
        thinking_toggle=reads_enable_thinking(template),
    )
    log.info(
        "%s on llama.cpp: %s, KV pool %d tokens in streams of %s, %d threads",
        spec.id,
        card.dtype,
        cells,
        " and ".join(
            f"{limits.max_sequences} x {n}"
            for (_, limits, _), n in zip(contexts, streams, strict=True)
        ),
        threads,
    )
    saved = [
        # What each context was made with: its KV layout is part of the saved states' key.
        _saved_states(
            config,
            gguf,
            card.dtype,
            template,
            context,
            _context_params(limits.kv_token_budget, batch_tokens, limits.max_sequences, threads),
        )
        for context, limits, batch_tokens in contexts
    ]
    return LlamaCppEngine(model, contexts, template, card, embedder, saved)


class LlamaCppEngine(BatchedEngine[LlamaSequence]):
    def __init__(
        self,
        model: Any,
        contexts: Sequence[tuple[Any, BatchLimits, int]],
        template: str,
        card: ModelCard,
        embedder: LlamaEmbedder | None = None,
        saved: Sequence[SavedStates | None] = (),
    ) -> None:
        """`contexts`: each with its admission limits and batch size, shortest streams first;
        `saved`: the states on disk of each context (by index; None or missing: none)."""
        self._model = model
        # Only for a model the models file marks as embedding.
        self._embedder = embedder
        self._vocab = lc.llama_model_get_vocab(model)
        self._template = template
        self._card = card
        self._sequence_kind = LlamaSequence
        self._pieces: dict[int, bytes] = {}
        self._spellings: dict[int, bytes] = {}
        # The names templates write them by (`{{ bos_token }}`).
        self._template_tokens = {
            "bos_token": self._token_text(lc.llama_vocab_bos(self._vocab)),
            "eos_token": self._token_text(lc.llama_vocab_eos(self._vocab)),
        }
        self._specials = special_texts_pattern(self._special_texts())
        self._loops: list[LlamaLoop] = [
            LlamaLoop(
                context,
                self._vocab,
                limits,
                batch_tokens,
                f"{card.name}-{i}",
                saved[i] if i < len(saved) else None,
            )
            for i, (context, limits, batch_tokens) in enumerate(contexts)
        ]
        self._contexts = [context for context, _, _ in contexts]

    def _loop_for(self, kv_tokens: int) -> LlamaLoop:
        """The loop of the shortest streams that hold `kv_tokens`."""
        return next(
            (loop for loop in self._loops if kv_tokens <= loop.stream_tokens), self._loops[-1]
        )

    @property
    def prompt_tokens_copied(self) -> int:
        """Prompt tokens not read since the load: copied from a request with the same start."""
        return sum(loop.prompt_tokens_copied for loop in self._loops)

    @property
    def prompt_tokens_kept(self) -> int:
        """Prompt tokens not read since the load: kept from an earlier answer's stream."""
        return sum(loop.prompt_tokens_kept for loop in self._loops)

    @property
    def prompt_tokens_restored(self) -> int:
        """Prompt tokens not read since the load: restored from a state saved on disk."""
        return sum(loop.prompt_tokens_restored for loop in self._loops)

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
        return self._token_bytes(token).decode("utf-8", errors="replace")

    def _token_bytes(self, token: int) -> bytes:
        """A token's bytes, a control token's own name included (`_decode` leaves it out)."""
        spelled = self._spellings.get(token)
        if spelled is None:
            buffer = ctypes.create_string_buffer(256)
            size = lc.llama_token_to_piece(self._vocab, token, buffer, len(buffer), 0, True)
            spelled = self._spellings[token] = buffer.raw[: max(size, 0)]
        return spelled

    def _special_texts(self) -> list[str]:
        """The tokens llama_tokenize parses only when asked (user-defined ones it always does);
        ~0.1 s for 50,000 tokens."""
        parsed_if_asked = lc.LLAMA_TOKEN_ATTR_CONTROL | lc.LLAMA_TOKEN_ATTR_UNKNOWN
        vocab = self._vocab
        return [
            self._token_text(token)
            for token in range(lc.llama_vocab_n_tokens(vocab))
            if lc.llama_vocab_get_attr(vocab, token) & parsed_if_asked
        ]

    def _apply_template(
        self,
        messages: list[TemplateMessage],
        tools: TemplateTools | None,
        *,
        enable_thinking: bool | None,
    ) -> str:
        extra: dict[str, Any] = dict(self._template_tokens)
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

    def _tokenize(self, text: str, parse_special: bool, *, add_special: bool = False) -> list[int]:
        data = text.encode("utf-8")
        # Never more tokens than bytes, plus room for what a template's specials expand to.
        tokens = (lc.llama_token * (len(data) + 16))()
        args = (add_special, parse_special)
        count = lc.llama_tokenize(self._vocab, data, len(data), tokens, len(tokens), *args)
        if count < 0:
            tokens = (lc.llama_token * -count)()
            count = lc.llama_tokenize(self._vocab, data, len(data), tokens, -count, *args)
        return list(tokens[:count])

    async def embed(self, inputs: Sequence[EmbeddingInput]) -> Embeddings:
        embedder = self._embedder
        if embedder is None:
            raise cannot_embed(self._card.name)
        ids = [self._embedding_ids(i, value, embedder.max_tokens) for i, value in enumerate(inputs)]
        vectors = await asyncio.to_thread(embedder.embed, ids)
        return Embeddings(tuple(vectors), sum(len(i) for i in ids))

    def _embedding_ids(self, index: int, value: EmbeddingInput, max_tokens: int) -> list[int]:
        """An input's token ids (a text's with the model's BOS, as llama.cpp's server reads
        it); raises EngineError (`malformed`) for one the embedder cannot read."""
        if isinstance(value, str):
            ids = self._tokenize(value, False, add_special=True)
        else:
            n_vocab = lc.llama_vocab_n_tokens(self._vocab)
            if any(not 0 <= token < n_vocab for token in value):
                raise bad_embedding_input(index, f"holds a token id outside 0 to {n_vocab - 1}")
            ids = list(value)
        if not ids:
            raise bad_embedding_input(index, "is empty")
        if len(ids) > max_tokens:
            raise bad_embedding_input(
                index,
                f"has {len(ids)} tokens; the model embeds at most {max_tokens}",
                code="context_length_exceeded",
            )
        return ids

    def _decode(self, ids: list[int]) -> str:
        """Text of token ids, control tokens left out; a cut UTF-8 character ends in U+FFFD,
        which the incremental detokenizer waits past."""
        pieces = self._pieces
        for token in ids:
            if token not in pieces:
                pieces[token] = token_bytes(self._vocab, token)
        return b"".join(pieces[token] for token in ids).decode("utf-8", errors="replace")

    async def close(self) -> None:
        if not self._contexts:
            return
        await super().close()
        contexts, self._contexts = self._contexts, []
        if self._embedder is not None:
            await asyncio.to_thread(self._embedder.close)
        _free(self._model, contexts)


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
