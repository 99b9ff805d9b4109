"""The telemetry of one app: Prometheus metrics in the app's own registry, the figures of
`/api/v1/stats`, and one log line per run.

Counters and histograms move as things happen (requests through the middleware, tokens and
run endings through the chat layer's GenerationObserver hooks). Gauges of live state (runs,
batch, model state, GPUs) are read at scrape time, so they can never drift from the truth.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from parley import __version__
from parley.chat.live.run import RunPhase
from parley.chat.metering import RunReport
from parley.logs import event
from parley.protocol import ModelState, ModelStatus
from parley.telemetry.resources import GpuProbe
from parley.telemetry.stats import Stats, StatsPublic

run_log = logging.getLogger("parley.runs")

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120)
ITL_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2)
RUN_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
MODEL_STATES: tuple[ModelState, ...] = ("available", "loading", "loaded", "failed")


class LiveRun(Protocol):
    @property
    def model(self) -> str: ...

    @property
    def phase(self) -> RunPhase: ...


class LiveRuns(Protocol):
    def active_runs(self) -> Sequence[LiveRun]: ...


class ModelSource(Protocol):
    def statuses(self) -> list[ModelStatus]: ...


@runtime_checkable
class BatchLoadReporter(Protocol):
    """Optional hook for the engine manager: per model id, the rows in the decode batch now and
    the requests queued for a slot. Without it the batch is counted at the chat layer (runs
    past their first token) and the queue as runs still waiting for their first token."""

    def batch_load(self) -> Mapping[str, tuple[int, int]]: ...


@dataclass
class RunCounts:
    """Runs in progress per model: all of them, those waiting for a first token, the rest."""

    active: dict[str, int] = field(default_factory=dict)
    queued: dict[str, int] = field(default_factory=dict)
    decoding: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, runs: Iterable[LiveRun], models: Iterable[str] = ()) -> RunCounts:
        counts = cls(*(dict.fromkeys(models, 0) for _ in range(3)))
        for run in runs:
            counts.active[run.model] = counts.active.get(run.model, 0) + 1
            phase = counts.decoding if run.phase == "decoding" else counts.queued
            phase[run.model] = phase.get(run.model, 0) + 1
        return counts


class _LiveState(Collector):
    def __init__(self, runs: LiveRuns, models: ModelSource, gpus: GpuProbe) -> None:
        self._runs = runs
        self._models = models
        self._gpus = gpus

    def collect(self) -> Iterator[Metric]:
        statuses = self._models.statuses()
        yield from self._run_families(statuses)
        yield from self._model_families(statuses)
        yield from self._gpu_families()

    def _run_families(self, statuses: list[ModelStatus]) -> Iterator[Metric]:
        counts = RunCounts.of(self._runs.active_runs(), (status.id for status in statuses))
        batch: Mapping[str, int] = counts.decoding
        engine_queue: Mapping[str, int] = counts.queued
        if isinstance(self._models, BatchLoadReporter):
            load = self._models.batch_load()
            batch = {model: rows for model, (rows, _waiting) in load.items()}
            engine_queue = {model: waiting for model, (_rows, waiting) in load.items()}
        yield _per_model("parley_runs_active", "Runs in progress.", counts.active)
        yield _per_model("parley_runs_queued", "Runs waiting for their first token.", counts.queued)
        yield _per_model("parley_batch_size", "Sequences decoded together now.", batch)
        yield _per_model(
            "parley_engine_queue_depth", "Requests waiting for a slot in the batch.", engine_queue
        )

    def _model_families(self, statuses: list[ModelStatus]) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "parley_model_state",
            "1 for the state each model is in (available, loading, loaded, failed).",
            labels=["model", "state"],
        )
        for status in statuses:
            for name in MODEL_STATES:
                state.add_metric([status.id, name], 1.0 if status.state == name else 0.0)
        yield state

    def _gpu_families(self) -> Iterator[Metric]:
        labels = ["gpu", "name"]
        used = GaugeMetricFamily(
            "parley_gpu_memory_used_bytes", "GPU memory in use.", labels=labels
        )
        total = GaugeMetricFamily("parley_gpu_memory_total_bytes", "GPU memory.", labels=labels)
        busy = GaugeMetricFamily(
            "parley_gpu_utilization_ratio", "Share of time the GPU was busy (0-1).", labels=labels
        )
        heat = GaugeMetricFamily(
            "parley_gpu_temperature_celsius", "GPU core temperature.", labels=labels
        )
        for gpu in self._gpus.read():
            key = [str(gpu.index), gpu.name]
            used.add_metric(key, gpu.memory_used_bytes)
            total.add_metric(key, gpu.memory_total_bytes)
            if gpu.utilization_percent is not None:
                busy.add_metric(key, gpu.utilization_percent / 100)
            if gpu.temperature_c is not None:
                heat.add_metric(key, gpu.temperature_c)
        yield from (used, total, busy, heat)


def _per_model(name: str, documentation: str, values: Mapping[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["model"])
    for model, value in sorted(values.items()):
        family.add_metric([model], value)
    return family


class Telemetry:
    """Implements the chat layer's GenerationObserver; the HTTP middleware reports requests here."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.stats = Stats()
        self._runs: LiveRuns | None = None
        registry = self.registry
        ProcessCollector(registry=registry)
        Gauge("parley_info", "Parley's version.", ["version"], registry=registry).labels(
            __version__
        ).set(1)
        self._http_requests = Counter(
            "parley_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self._http_duration = Histogram(
            "parley_http_request_duration_seconds",
            "Time to answer an HTTP request (a stream counts until its end).",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self._sockets = Gauge(
            "parley_websocket_connections", "WebSocket connections open.", registry=registry
        )
        self._run_endings = Counter(
            "parley_runs",
            "Runs ended, by final message status (complete, cancelled, error, interrupted).",
            ["model", "status"],
            registry=registry,
        )
        self._generated = Counter(
            "parley_generated_tokens", "Tokens generated.", ["model"], registry=registry
        )
        self._prompt = Counter(
            "parley_prompt_tokens",
            "Prompt tokens read by ended runs.",
            ["model"],
            registry=registry,
        )
        self._ttft = Histogram(
            "parley_time_to_first_token_seconds",
            "From a run's start to its first token (queue, model load and prefill included).",
            ["model"],
            buckets=TTFT_BUCKETS,
            registry=registry,
        )
        self._itl = Histogram(
            "parley_inter_token_latency_seconds",
            "Time between consecutive generated tokens of a run.",
            ["model"],
            buckets=ITL_BUCKETS,
            registry=registry,
        )
        self._run_duration = Histogram(
            "parley_run_duration_seconds",
            "From a run's start to its end.",
            ["model"],
            buckets=RUN_BUCKETS,
            registry=registry,
        )

    def watch(self, runs: LiveRuns, models: ModelSource, gpus: GpuProbe) -> None:
        """Report the live state of these runs, models and GPUs at every scrape."""
        self._runs = runs
        self.registry.register(_LiveState(runs, models, gpus))

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def snapshot(self) -> StatsPublic:
        counts = RunCounts.of(self._runs.active_runs() if self._runs is not None else [])
        return self.stats.snapshot(
            active_runs=sum(counts.active.values()), queued_runs=sum(counts.queued.values())
        )

    # ---------- transports ----------

    def request(
        self, method: str, route: str, status: int, duration_s: float, *, in_stats: bool
    ) -> None:
        self._http_requests.labels(method, route, str(status)).inc()
        self._http_duration.labels(method, route).observe(duration_s)
        if in_stats:
            self.stats.request(status, duration_s)

    def socket_opened(self) -> None:
        self._sockets.inc()

    def socket_closed(self) -> None:
        self._sockets.dec()

    # ---------- GenerationObserver ----------

    def first_token(self, model: str, ttft_s: float) -> None:
        self._ttft.labels(model).observe(ttft_s)

    def tokens(self, model: str, count: int, gap_s: float | None) -> None:
        self._generated.labels(model).inc(count)
        self.stats.generated(count)
        if gap_s is not None:
            histogram = self._itl.labels(model)
            for _ in range(count):
                histogram.observe(gap_s / count)

    def run_finished(self, report: RunReport) -> None:
        model = report.model
        self._run_endings.labels(model, report.status).inc()
        self._prompt.labels(model).inc(report.prompt_tokens)
        self._run_duration.labels(model).observe(report.duration_s)
        self.stats.run(report.status, report.prompt_tokens, report.ttft_s, report.tokens_per_s)
        event(
            run_log,
            "run",
            run_id=report.run_id,
            conversation_id=report.conversation_id,
            user_id=report.user_id,
            model=model,
            status=report.status,
            finish_reason=report.finish_reason,
            error_code=report.error_code,
            prompt_tokens=report.prompt_tokens,
            completion_tokens=report.completion_tokens,
            ttft_ms=None if report.ttft_s is None else round(report.ttft_s * 1000, 1),
            duration_ms=round(report.duration_s * 1000, 1),
            tokens_per_s=report.tokens_per_s,
        )
