"""Which engine runs a model: the models file's pin, or for `auto` the fastest that passes.

`auto` (the default) runs a GGUF model on the CPU with llama.cpp when llama-cpp-python can be
imported and one of its precisions passes the quality gate on this machine (quality.py: at most
5% perplexity above fp32 transformers) and decoded faster than fp32 transformers while gated:
of those that pass, the fastest (the file's own weights, or for a small file the same weights
requantized to Q8_0), one conversation and many weighing the same (`Verdict.ranking_speed`).
Otherwise, and for Hugging Face folders, LoRA adapters, dummy weights, a
pinned torch dtype or a GPU, on transformers. A llama.cpp weight type as the model's `dtype`
pins llama.cpp at that precision. What made `auto` decide is kept as the model's `engine_note`.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from parley.engine.base import EngineKind
from parley.engine.config import EngineConfig
from parley.engine.devices import pick_device
from parley.engine.selection.quality import GatedChoice
from parley.engine.specs import ModelSpec, gguf_file, gguf_type_name

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EnginePlan:
    kind: EngineKind
    gguf: Path | None = None
    # The llama.cpp weight type to convert the GGUF to before loading; None: the file as it is.
    precision: str | None = None
    # Why `auto` chose as it did, when that is worth telling (GET /api/models shows it).
    note: str | None = None


@functools.cache
def llamacpp_unavailable() -> str | None:
    """Why the llama.cpp engine cannot run here, or None when it can."""
    try:
        import llama_cpp  # noqa: F401
    except Exception as exc:  # A failed build can raise more than ImportError (a missing .so).
        return f"llama-cpp-python cannot be imported ({type(exc).__name__}: {exc})"
    return None


@functools.cache
def torch_missing() -> bool:
    """Whether torch is not installed (the container image without it): no transformers
    engine, and no fp32 reference for llama.cpp's quality gate."""
    return importlib.util.find_spec("torch") is None


def _transformers_only(spec: ModelSpec, config: EngineConfig) -> str | None:
    """What in a model's configuration needs transformers, if anything."""
    if spec.lora is not None:
        return "a LoRA adapter"
    if spec.dummy_config is not None:
        return "dummy weights"
    if spec.dtype is not None and gguf_type_name(spec.dtype) is None:
        return f"the torch dtype {spec.dtype!r}"
    # Without torch no engine here runs on a GPU (and picking one would import torch).
    if not torch_missing() and pick_device(spec.device or config.device) != "cpu":
        return "a GPU"
    return None


def pins_llamacpp(spec: ModelSpec) -> bool:
    """Whether the models file pins llama.cpp: by `engine`, or by a llama.cpp weight type as
    `dtype`. A pinned engine is not gated, and failing to load it fails the model."""
    return spec.engine == "llamacpp" or gguf_type_name(spec.dtype) is not None


# Runs (or recalls) the quality gate of llama.cpp on a GGUF: each precision tried, verdict.
VerdictsFor = Callable[[ModelSpec, Path], list[GatedChoice]]


def plan_engine(spec: ModelSpec, config: EngineConfig, verdicts_for: VerdictsFor) -> EnginePlan:
    """The engine (and for llama.cpp the precision) a model runs on."""
    gguf = gguf_file(spec.path)
    precision = gguf_type_name(spec.dtype)
    if spec.engine == "transformers":
        if precision is not None:
            raise ValueError(
                f"dtype {spec.dtype!r} is a llama.cpp weight type; transformers takes a torch dtype"
            )
        return EnginePlan("transformers")
    if pins_llamacpp(spec):
        if gguf is None:
            raise ValueError(f"engine 'llamacpp' runs .gguf files; {spec.path!r} is not one")
        needs = _transformers_only(spec, config)
        if needs is not None:
            raise ValueError(f"engine 'llamacpp' cannot run {needs}; use 'transformers'")
        reason = llamacpp_unavailable()
        if reason is not None:
            raise RuntimeError(reason)
        return EnginePlan("llamacpp", gguf, precision)
    if gguf is None:
        return EnginePlan("transformers")
    needs = _transformers_only(spec, config)
    if needs is not None:
        return EnginePlan("transformers", note=f"on transformers for {needs}")
    reason = llamacpp_unavailable()
    if reason is not None:
        return EnginePlan("transformers", note=f"llama.cpp is not available: {reason}")
    if torch_missing():
        return EnginePlan("llamacpp", gguf, note="torch is not installed: llama.cpp, ungated")
    choices = verdicts_for(spec, gguf)
    passing = [choice for choice in choices if choice[1].passed]
    if not passing:
        return EnginePlan("transformers", note="; ".join(v.summary() for _, v in choices))
    precision, best = max(passing, key=lambda choice: choice[1].ranking_speed)
    if best.tokens_per_s < best.reference_tokens_per_s:
        return EnginePlan(
            "transformers",
            note=f"{best.summary()}, but decoded slower ({best.tokens_per_s:.0f} vs "
            f"{best.reference_tokens_per_s:.0f} tokens/s)",
        )
    others = [v.speeds() for p, v in choices if p != precision]
    return EnginePlan(
        "llamacpp",
        gguf,
        precision,
        note=f"{best.summary()}; {best.speeds()} against "
        + ", ".join([*others, f"fp32 transformers {best.reference_tokens_per_s:.0f}"]),
    )
