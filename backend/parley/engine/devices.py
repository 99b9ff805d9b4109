"""Where a model runs and in which precision.

`auto` picks the CUDA GPU with the most free memory (asked of the driver through pynvml, so no
CUDA context is created just to look), else the CPU. A machine without pynvml, without a
driver, or with a torch build that cannot use the GPU runs on the CPU.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GpuMemory:
    index: int
    free_bytes: int


def gpu_memory() -> list[GpuMemory]:
    """Free memory of every NVIDIA GPU; empty when pynvml or the driver is missing."""
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError has many subclasses; any of them means "no GPU here".
        log.debug("pynvml cannot reach a driver: %s", exc)
        return []
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            info = pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(index))
            gpus.append(GpuMemory(index, int(info.free)))
        return gpus
    except Exception as exc:
        log.warning("pynvml failed to read GPU memory, using the CPU: %s", exc)
        return []
    finally:
        pynvml.nvmlShutdown()


def _torch_has_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def pick_device(requested: str) -> str:
    """'cpu', 'cuda:N' as asked, or for 'auto' the GPU with the most free memory, else 'cpu'."""
    if requested == "cpu":
        return "cpu"
    if requested.startswith("cuda"):
        if not _torch_has_cuda():
            raise ValueError(f"device {requested!r} was asked for, but torch cannot use CUDA here")
        return requested if ":" in requested else "cuda:0"
    if requested != "auto":
        raise ValueError(f"unknown device {requested!r}; use 'auto', 'cpu' or 'cuda:N'")
    gpus = gpu_memory()
    if not gpus or not _torch_has_cuda():
        return "cpu"
    # NVML numbers GPUs by PCI bus id; CUDA agrees when CUDA_DEVICE_ORDER=PCI_BUS_ID, which is
    # also what nvidia-smi shows, so the same number means the same card to the operator.
    best = max(gpus, key=lambda gpu: gpu.free_bytes)
    return f"cuda:{best.index}"


def _cpu_has_bf16() -> bool:
    """Whether the CPU multiplies bf16 natively (on Linux; elsewhere assume it does not)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            flags = set(cpuinfo.read().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def pick_dtype(requested: str, device: str) -> str:
    """The weight precision name: as asked, or for 'auto' the fastest sane one for the device.

    bf16 on CUDA. On a CPU with native bf16 (AVX512-BF16 or AMX) a bf16 decode step measured
    about 1.5x faster than fp32 at batch 1 and at batch 32 (docs/performance.md); without it
    bf16 is emulated and slow, so fp32.
    """
    if requested != "auto":
        return requested
    if device.startswith("cuda") or _cpu_has_bf16():
        return "bfloat16"
    return "float32"
