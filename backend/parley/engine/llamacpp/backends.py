"""llama.cpp's CPU backend, chosen at start where it was built as one library per CPU level.

A llama-cpp-python built with GGML_BACKEND_DL and GGML_CPU_ALL_VARIANTS (the container image's
build) holds no CPU backend of its own, but libggml-cpu-<level>.so files (sse42, haswell,
skylakex, sapphirerapids, ...): ggml scores each against the running CPU and loads the best
one, so one build is fast on any machine rather than only on the one that compiled it. A build
for one CPU (scripts/install.sh) has none of these files and needs nothing loaded.
"""

from __future__ import annotations

import ctypes
import logging
import re
from pathlib import Path

import llama_cpp as lc

log = logging.getLogger(__name__)

_VARIANT_LIBRARY = re.compile(r"libggml-cpu-([\w-]+)\.so")


def _variant_folder() -> Path | None:
    package = Path(lc.__file__).parent
    library = next(package.rglob("libggml-cpu-*.so"), None)
    return None if library is None else library.parent


def _loaded_variant() -> str | None:
    """The CPU level whose library this process mapped, read from /proc/self/maps."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    found = _VARIANT_LIBRARY.search(maps)
    return None if found is None else found.group(1)


def load_cpu_backend() -> str | None:
    """Load the best CPU level of a multi-level build; its name ("haswell"), else None."""
    folder = _variant_folder()
    if folder is None:
        return None
    from llama_cpp._ggml import libggml

    load_all = libggml.ggml_backend_load_all_from_path
    load_all.argtypes = [ctypes.c_char_p]
    load_all.restype = None
    load_all(str(folder).encode())
    variant = _loaded_variant()
    if variant is None:
        raise RuntimeError(f"llama.cpp found no CPU backend this CPU can run in {folder}")
    log.info("llama.cpp runs its CPU backend built for %s", variant)
    return variant
