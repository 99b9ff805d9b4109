"""GPU readings through a stand-in pynvml: this suite runs on machines without a GPU, so the
NVML path is checked against a fake driver with two cards, one of which cannot report its
utilisation (as MIG slices cannot)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from parley.engine.manager import ModelStatus
from parley.telemetry import GpuProbe, Telemetry
from parley.telemetry.metrics import LiveRun

GIB = 1024**3


class FakeNvml(ModuleType):
    NVML_TEMPERATURE_GPU = 0

    def __init__(self, *, init_error: Exception | None = None) -> None:
        super().__init__("pynvml")
        self.init_error = init_error
        self.inits = 0

    def nvmlInit(self) -> None:
        self.inits += 1
        if self.init_error is not None:
            raise self.init_error

    def nvmlShutdown(self) -> None:
        pass

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> bytes | str:
        return b"Fake H100" if handle == 0 else "Fake A10"

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        return SimpleNamespace(used=(handle + 1) * GIB, total=80 * GIB, free=0)

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:
        if handle == 1:
            raise RuntimeError("not supported")
        return SimpleNamespace(gpu=37, memory=10)

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        return 54 + handle


def _install(monkeypatch: pytest.MonkeyPatch, fake: FakeNvml) -> FakeNvml:
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    return fake


def test_every_gpu_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, FakeNvml())
    first, second = GpuProbe().read()
    assert (first.index, first.name, first.memory_used_bytes) == (0, "Fake H100", GIB)
    assert (first.utilization_percent, first.temperature_c) == (37.0, 54.0)
    assert (second.name, second.memory_total_bytes) == ("Fake A10", 80 * GIB)
    assert second.utilization_percent is None
    assert second.temperature_c == 55.0


def test_no_driver_means_no_gpus_and_no_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _install(monkeypatch, FakeNvml(init_error=RuntimeError("NVML Shared Library Not Found")))
    probe = GpuProbe()
    assert probe.read() == []
    assert probe.read() == []
    assert fake.inits == 1


class _Runs:
    def active_runs(self) -> Sequence[LiveRun]:
        return []


class _Models:
    def statuses(self) -> list[ModelStatus]:
        return [ModelStatus(id="m", state="loaded", is_default=True, device="cuda:0")]


def test_gpus_are_in_the_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, FakeNvml())
    telemetry = Telemetry()
    telemetry.watch(_Runs(), _Models(), GpuProbe())
    body, _ = telemetry.exposition()
    samples = {
        (sample.name, sample.labels.get("gpu")): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }
    assert samples["parley_gpu_memory_used_bytes", "0"] == GIB
    assert samples["parley_gpu_memory_total_bytes", "1"] == 80 * GIB
    assert samples["parley_gpu_utilization_ratio", "0"] == pytest.approx(0.37)
    assert ("parley_gpu_utilization_ratio", "1") not in samples
    assert samples["parley_gpu_temperature_celsius", "1"] == 55.0
    # Two apps in one process keep their own registries.
    assert Telemetry().exposition()[0].count(b"parley_gpu_memory_used_bytes{") == 0
