"""The scrape-time collectors, in process: GPU readings through a stand-in pynvml (this suite
runs on machines without a GPU, so the NVML path is checked against a fake driver with two
cards, one of which cannot report its utilisation, as MIG slices cannot), and the engine's
optional batch-load hook."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from parley.chat.live.run import RunPhase
from parley.protocol import ModelStatus
from parley.telemetry import BatchLoadReporter, GpuProbe, Telemetry
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


class _Phase:
    def __init__(self, phase: RunPhase) -> None:
        self.model = "m"
        self.phase: RunPhase = phase


class _BusyRuns:
    def active_runs(self) -> Sequence[LiveRun]:
        return [_Phase("decoding"), _Phase("queued"), _Phase("prefill")]


class _ReportingModels(_Models):
    """An engine manager with the optional hook: 12 rows in the batch, 3 waiting."""

    def batch_load(self) -> Mapping[str, tuple[int, int]]:
        return {"m": (12, 3)}


def _samples(telemetry: Telemetry, label: str) -> dict[tuple[str, str | None], float]:
    body, _ = telemetry.exposition()
    return {
        (sample.name, sample.labels.get(label)): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_batch_and_queue_counted_at_the_chat_layer_without_the_hook() -> None:
    telemetry = Telemetry()
    telemetry.watch(_BusyRuns(), _Models(), GpuProbe())
    samples = _samples(telemetry, "model")
    assert samples["parley_runs_active", "m"] == 3
    assert samples["parley_runs_queued", "m"] == 2
    assert samples["parley_batch_size", "m"] == 1
    assert samples["parley_engine_queue_depth", "m"] == 2


def test_batch_and_queue_come_from_the_engine_hook() -> None:
    assert isinstance(_ReportingModels(), BatchLoadReporter)
    telemetry = Telemetry()
    telemetry.watch(_BusyRuns(), _ReportingModels(), GpuProbe())
    samples = _samples(telemetry, "model")
    assert samples["parley_runs_active", "m"] == 3
    assert samples["parley_runs_queued", "m"] == 2
    assert samples["parley_batch_size", "m"] == 12
    assert samples["parley_engine_queue_depth", "m"] == 3


def test_gpus_are_in_the_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, FakeNvml())
    telemetry = Telemetry()
    telemetry.watch(_Runs(), _Models(), GpuProbe())
    samples = _samples(telemetry, "gpu")
    assert samples["parley_gpu_memory_used_bytes", "0"] == GIB
    assert samples["parley_gpu_memory_total_bytes", "1"] == 80 * GIB
    assert samples["parley_gpu_utilization_ratio", "0"] == pytest.approx(0.37)
    assert ("parley_gpu_utilization_ratio", "1") not in samples
    assert samples["parley_gpu_temperature_celsius", "1"] == 55.0
    # Two apps in one process keep their own registries.
    assert Telemetry().exposition()[0].count(b"parley_gpu_memory_used_bytes{") == 0
