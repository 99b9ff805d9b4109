"""A GGUF's weights in another llama.cpp precision, written once next to Parley's other models.

Why: llama.cpp's CPU kernels differ by weight type far more than the bytes suggest. On the
2-core machines measured (docs/performance.md) SmolLM2's Q4_1 file decodes 32 streams at ~200
tokens/s and the same weights requantized to Q8_0, for which ggml has batched matrix kernels,
at ~320, with a perplexity 0.7% from fp32's. Whether a precision is good enough is the quality
gate's to say (quality.py); this module only makes the file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import llama_cpp as lc
from gguf import GGUFReader

from parley.engine.specs import GGUF_FILE_TYPES, gguf_type_name, gguf_type_of


def _file_type(precision: str) -> int:
    name = gguf_type_name(precision)
    if name is None:
        raise ValueError(f"{precision!r} is no llama.cpp weight type")
    return GGUF_FILE_TYPES[name]


def requantized_path(gguf: Path, precision: str, data_dir: Path) -> Path:
    """Where `gguf` in `precision` is kept: named for the source file's identity, so a changed
    source is converted again."""
    stat = gguf.stat()
    key = f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    name = gguf_type_name(precision) or precision
    return data_dir / "models" / f"{gguf.stem}.{name}-{digest}.gguf"


def requantized(gguf: Path, precision: str, data_dir: Path, threads: int) -> Path:
    """`gguf` with its weights in `precision` (e.g. "Q8_0"), converted on first use."""
    target = requantized_path(gguf, precision, data_dir)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_suffix(f".{os.getpid()}.tmp")
    params = lc.llama_model_quantize_default_params()
    params.ftype = _file_type(precision)
    # The source is already quantized: llama.cpp dequantizes it first, which it refuses
    # unless asked.
    params.allow_requantize = True
    params.nthread = threads
    try:
        status = lc.llama_model_quantize(str(gguf).encode(), str(staging).encode(), params)
        if status != 0:
            raise RuntimeError(f"llama.cpp could not convert {gguf.name} to {precision}")
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)
    return target


def file_precision(gguf: Path) -> str | None:
    """The weight type a GGUF file declares ("Q4_1"), read from its header alone."""
    field = GGUFReader(gguf).fields.get("general.file_type")
    return None if field is None else gguf_type_of(int(field.parts[field.data[0]][0]))
