"""Which engine runs a model: the models file's pin, or for `auto` the fastest that passes.

`auto` (the default) runs a GGUF model on the CPU with llama.cpp when llama-cpp-python can be
imported, its quality-gate verdict on this machine passes (quality.py: at most 5% perplexity
above fp32 transformers) and it decoded faster than fp32 transformers while gated; otherwise,
and for Hugging Face folders, LoRA adapters, dummy weights, a pinned torch dtype or a GPU, on
transformers. What made `auto` decide is kept as the model's `engine_note`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from parley.engine.base import EngineKind
from parley.engine.config import EngineConfig
from parley.engine.devices import pick_device
from parley.engine.quality import Verdict
from parley.engine.specs import ModelSpec, gguf_file

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EnginePlan:
    kind: EngineKind
    gguf: Path | None = None
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


def _transformers_only(spec: ModelSpec, config: EngineConfig) -> str | None:
    """What in a model's configuration needs transformers, if anything."""
    if spec.lora is not None:
        return "a LoRA adapter"
    if spec.dummy_config is not None:
        return "dummy weights"
    if spec.dtype is not None:
        return f"the torch dtype {spec.dtype!r}"
    if pick_device(spec.device or config.device) != "cpu":
        return "a GPU"
    return None


VerdictFor = Callable[[ModelSpec, Path], Verdict]


def plan_engine(spec: ModelSpec, config: EngineConfig, verdict_for: VerdictFor) -> EnginePlan:
    """The engine for a model; `verdict_for` runs (or recalls) the quality gate of llama.cpp."""
    gguf = gguf_file(spec.path)
    if spec.engine == "transformers":
        return EnginePlan("transformers")
    if spec.engine == "llamacpp":
        if gguf is None:
            raise ValueError(f"engine 'llamacpp' runs .gguf files; {spec.path!r} is not one")
        needs = _transformers_only(spec, config)
        if needs is not None:
            raise ValueError(f"engine 'llamacpp' cannot run {needs}; use 'transformers'")
        reason = llamacpp_unavailable()
        if reason is not None:
            raise RuntimeError(reason)
        return EnginePlan("llamacpp", gguf)
    if gguf is None:
        return EnginePlan("transformers")
    needs = _transformers_only(spec, config)
    if needs is not None:
        return EnginePlan("transformers", note=f"on transformers for {needs}")
    reason = llamacpp_unavailable()
    if reason is not None:
        return EnginePlan("transformers", note=f"llama.cpp is not available: {reason}")
    verdict = verdict_for(spec, gguf)
    if not verdict.passed:
        return EnginePlan("transformers", note=verdict.summary())
    if verdict.tokens_per_s < verdict.reference_tokens_per_s:
        return EnginePlan(
            "transformers",
            note=f"{verdict.summary()}, but decoded slower ({verdict.tokens_per_s:.0f} vs "
            f"{verdict.reference_tokens_per_s:.0f} tokens/s)",
        )
    return EnginePlan(
        "llamacpp",
        gguf,
        note=f"{verdict.summary()}; {verdict.tokens_per_s:.0f} vs "
        f"{verdict.reference_tokens_per_s:.0f} tokens/s for fp32 transformers",
    )
