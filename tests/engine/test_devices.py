"""Device and precision choice, with pynvml and torch's CUDA check replaced."""

from __future__ import annotations

import sys
import types

import pytest

from parley.engine import devices
from parley.engine.devices import GpuMemory, pick_device, pick_dtype


def test_auto_picks_the_gpu_with_most_free_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = [GpuMemory(0, 2 * 2**30), GpuMemory(1, 9 * 2**30), GpuMemory(2, 5 * 2**30)]
    monkeypatch.setattr(devices, "gpu_memory", lambda: gpus)
    monkeypatch.setattr(devices, "_torch_has_cuda", lambda: True)
    assert pick_device("auto") == "cuda:1"


def test_auto_without_gpus_or_cuda_torch_is_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "gpu_memory", list)
    assert pick_device("auto") == "cpu"
    monkeypatch.setattr(devices, "gpu_memory", lambda: [GpuMemory(0, 2**30)])
    monkeypatch.setattr(devices, "_torch_has_cuda", lambda: False)
    assert pick_device("auto") == "cpu"


def test_a_failing_driver_means_no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_driver() -> None:
        raise RuntimeError("NVML Shared Library Not Found")

    fake = types.SimpleNamespace(nvmlInit=no_driver)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    assert devices.gpu_memory() == []


def test_explicit_devices_are_kept_or_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pick_device("cpu") == "cpu"
    monkeypatch.setattr(devices, "_torch_has_cuda", lambda: True)
    assert pick_device("cuda:3") == "cuda:3"
    assert pick_device("cuda") == "cuda:0"
    monkeypatch.setattr(devices, "_torch_has_cuda", lambda: False)
    with pytest.raises(ValueError, match="cannot use CUDA"):
        pick_device("cuda:0")
    with pytest.raises(ValueError, match="unknown device"):
        pick_device("tpu")


def test_auto_precision_is_bf16_on_cuda_and_on_cpus_with_native_bf16(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert pick_dtype("float32", "cuda:0") == "float32"
    assert pick_dtype("auto", "cuda:0") == "bfloat16"
    monkeypatch.setattr(devices, "_cpu_has_bf16", lambda: True)
    assert pick_dtype("auto", "cpu") == "bfloat16"
    monkeypatch.setattr(devices, "_cpu_has_bf16", lambda: False)
    assert pick_dtype("auto", "cpu") == "float32"
