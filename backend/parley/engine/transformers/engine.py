"""Transformers models behind the engine interface: loading, the GGUF conversion cache, precision.

A GGUF file is dequantized and converted by transformers in ~20 s; the result is saved once as a
safetensors folder under `<data_dir>/models/<name>`, which later starts load in well under a
second. Generation itself lives in loop.py; this module adapts it to asyncio.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# Never reach for a model hub: every model is a local file or folder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    DynamicCache,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from parley.engine.base import GenerationRequest, ModelCard
from parley.engine.batch_queue import BatchLimits
from parley.engine.batched import BatchedEngine
from parley.engine.config import EngineConfig
from parley.engine.devices import pick_device, pick_dtype
from parley.engine.prompt_text import special_texts_pattern
from parley.engine.specs import ModelSpec, chat_template_text, gguf_file, reads_enable_thinking
from parley.engine.structured import CannotConstrain, constrains
from parley.engine.tool_prompts import TemplateMessage, TemplateTools
from parley.engine.transformers.loop import TransformersLoop, TransformersSequence

log = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def converted_gguf_folder(gguf: Path, config: EngineConfig) -> Path:
    """The safetensors folder for a GGUF file, converting it on first use."""
    target = config.data_dir / "models" / gguf.stem
    if (target / "config.json").is_file():
        return target
    log.info("converting %s once into %s (later starts reuse it)", gguf, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{gguf.stem}-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        # The weights are dequantized already; forget the GGUF origin so they can be saved.
        model.hf_quantizer = None  # type: ignore[assignment]
        vars(model.config).pop("quantization_config", None)
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        # A rename is atomic: a crash leaves a stray staging folder, never a half cache.
        staging.rename(target)
    except OSError:
        if not (target / "config.json").is_file():
            raise
        # Another process finished the same conversion first; theirs is as good.
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def weights_folder(path: str, config: EngineConfig) -> Path:
    """A local folder with config, weights and tokenizer for a model path from the configuration."""
    gguf = gguf_file(path)
    if gguf is not None:
        return converted_gguf_folder(gguf, config)
    location = Path(path).expanduser()
    if (location / "config.json").is_file():
        return location
    raise FileNotFoundError(f"{path!r} is neither 'smollm2', a .gguf file nor a model folder")


def _build_model(spec: ModelSpec, folder: Path, dtype: torch.dtype) -> PreTrainedModel:
    if spec.dummy_config is not None:
        config = AutoConfig.from_pretrained(spec.dummy_config)
        model: PreTrainedModel = AutoModelForCausalLM.from_config(config, dtype=dtype)
        return model
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    if spec.lora is not None:
        if importlib.util.find_spec("peft") is None:
            raise RuntimeError(f"model {spec.id!r} names a LoRA adapter but peft is not installed")
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, spec.lora).merge_and_unload()
    return model


def _eos_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> set[int]:
    ids: set[int] = set()
    for source in (model.generation_config.eos_token_id, tokenizer.eos_token_id):
        if isinstance(source, int):
            ids.add(source)
        elif source is not None:
            ids.update(source)
    return ids


def _ignore_progress(fraction: float) -> None:
    pass


def load_engine(
    spec: str | ModelSpec,
    config: EngineConfig,
    on_progress: Callable[[float], None] = _ignore_progress,
) -> TransformersEngine:
    """Load a model ("smollm2", a .gguf file or a Hugging Face folder) ready to serve.

    `on_progress` hears the fraction done (0..1) after each stage: the weights folder (after a
    GGUF conversion, the longest stage), the tokenizer, the model.
    """
    if isinstance(spec, str):
        spec = ModelSpec(id=spec, path=spec)
    folder = weights_folder(spec.path, config)
    on_progress(0.6)
    device = pick_device(spec.device or config.device)
    if device == "cpu" and config.cpu_threads:
        # Process-wide: every CPU model shares the cores anyway.
        torch.set_num_threads(config.cpu_threads)
    dtype_name = pick_dtype(spec.dtype or config.dtype, device)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    template = chat_template_text(spec.chat_template)
    if template is not None:
        tokenizer.chat_template = template
    on_progress(0.7)
    model = _build_model(spec, folder, _DTYPES[dtype_name])
    model.eval()
    # Module.to itself: transformers wraps the method with a signature mypy cannot follow.
    torch.nn.Module.to(model, torch.device(device))
    on_progress(0.95)
    tensors = (*model.parameters(), *model.buffers())
    weight_bytes = sum(t.numel() * t.element_size() for t in tensors)
    card = ModelCard(
        name=spec.id,
        context_length=spec.context_length or int(model.config.max_position_embeddings),
        think_open=spec.think_open,
        think_close=spec.think_close,
        device=device,
        dtype=dtype_name,
        memory_bytes=weight_bytes,
        thinking_toggle=reads_enable_thinking(str(tokenizer.chat_template or "")),
    )
    return TransformersEngine(model, tokenizer, card, _limits(model, config))


def _limits(model: PreTrainedModel, config: EngineConfig) -> BatchLimits:
    """Turn the KV memory setting into tokens for this model's layer shapes."""
    shape = model.config
    head_dim = getattr(shape, "head_dim", None) or shape.hidden_size // shape.num_attention_heads
    kv_heads = getattr(shape, "num_key_value_heads", None) or shape.num_attention_heads
    element_bytes = next(model.parameters()).element_size()
    bytes_per_token = 2 * shape.num_hidden_layers * kv_heads * head_dim * element_bytes
    return BatchLimits(
        max_sequences=config.max_concurrent_runs,
        kv_token_budget=int(config.kv_cache_gib * 2**30) // bytes_per_token,
        prefill_chunk_tokens=config.prefill_chunk_tokens,
    )


class TransformersEngine(BatchedEngine[TransformersSequence]):
    """One transformers model; generation runs on the loop's thread, never on the loop."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        card: ModelCard,
        limits: BatchLimits,
    ) -> None:
        self._tokenizer = tokenizer
        self._card = card
        self._sequence_kind = TransformersSequence
        # Added tokens that are not special are matched in any text (as llama.cpp's
        # user-defined ones are): only the special ones are parsed only when asked.
        added = tokenizer.added_tokens_decoder.values()
        self._specials = special_texts_pattern(token.content for token in added if token.special)
        self._loops = [
            TransformersLoop(
                model,
                eos_token_ids=_eos_token_ids(model, tokenizer),
                vocab_size=len(tokenizer),
                limits=limits,
                name=card.name,
            )
        ]

    def _sequence_fields(self, request: GenerationRequest) -> dict[str, Any]:
        if constrains(request):
            raise CannotConstrain(request, self._card.name, "transformers")
        return {}

    def _apply_template(
        self,
        messages: list[TemplateMessage],
        tools: TemplateTools | None,
        *,
        enable_thinking: bool | None,
    ) -> str:
        # Templates read only the variables they know, so Qwen3's switch is harmless elsewhere.
        extra: dict[str, Any] = {}
        if enable_thinking is not None:
            extra["enable_thinking"] = enable_thinking
        prompt = self._tokenizer.apply_chat_template(
            messages, tools=tools, tokenize=False, add_generation_prompt=True, **extra
        )
        assert isinstance(prompt, str)
        return prompt

    @property
    def _template_source(self) -> str | None:
        source = self._tokenizer.chat_template
        # Some tokenizers name several templates (e.g. "default" and "tool_use").
        return "\n".join(source.values()) if isinstance(source, dict) else source

    def _tokenize(self, text: str, parse_special: bool) -> list[int]:
        # No BOS or EOS of its own: the chat template writes what the model expects.
        ids: list[int] = self._tokenizer.encode(
            text, add_special_tokens=False, split_special_tokens=not parse_special
        )
        return ids

    def _decode(self, ids: list[int]) -> str:
        text = self._tokenizer.decode(ids, skip_special_tokens=True)
        assert isinstance(text, str)
        return text

    def _token_bytes(self, token: int) -> bytes:
        # A byte-level token that cuts a character decodes to U+FFFD: its bytes are that one's.
        text = self._tokenizer.decode([token], skip_special_tokens=False)
        assert isinstance(text, str)
        return text.encode("utf-8")


class TorchScorer:
    """The quality gate's view of a transformers model (fp32 is the gate's reference)."""

    def __init__(self, model: PreTrainedModel, name: str) -> None:
        self._model = model
        self.name = name

    def log_likelihoods(self, ids: Sequence[int]) -> list[float]:
        with torch.inference_mode():
            logits = self._model(input_ids=torch.tensor([list(ids)])).logits[0, :-1]
            log_probs = torch.log_softmax(logits.float(), dim=-1)
            targets = torch.tensor(list(ids[1:])).unsqueeze(-1)
            scores: list[float] = log_probs.gather(-1, targets).squeeze(-1).tolist()
        return scores

    def greedy(self, prompt_ids: Sequence[int], tokens: int) -> list[int]:
        answer: list[int] = []
        cache = DynamicCache()
        step = torch.tensor([list(prompt_ids)])
        with torch.inference_mode():
            while len(answer) < tokens:
                output = self._model(input_ids=step, past_key_values=cache, use_cache=True)
                answer.append(int(output.logits[0, -1].argmax()))
                step = torch.tensor([answer[-1:]])
        return answer

    def batched_tokens_per_s(self, prompt_ids: Sequence[int], streams: int) -> None:
        # `auto` ranks llama.cpp's precisions by it; transformers is only their reference.
        return None
