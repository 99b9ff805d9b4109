"""Counters and recent-latency windows behind `GET /api/v1/stats`, kept since the process started.

Percentiles are exact over a window of the most recent observations (not the histogram buckets
of /metrics), so they answer "how is it going lately" without Prometheus.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime

from pydantic import BaseModel

WINDOW = 10_000


class Percentiles(BaseModel):
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    samples: int


class RequestStats(BaseModel):
    total: int
    client_errors: int
    server_errors: int
    success_rate: float | None
    latency_ms: Percentiles


class RunStats(BaseModel):
    total: int
    completed: int
    cancelled: int
    failed: int
    interrupted: int
    success_rate: float | None
    active: int
    queued: int
    ttft_ms: Percentiles
    tokens_per_s: Percentiles


class TokenStats(BaseModel):
    generated: int
    prompt: int


class StatsPublic(BaseModel):
    started_at: datetime
    uptime_s: float
    requests: RequestStats
    runs: RunStats
    tokens: TokenStats


def percentiles(values: Iterable[float], scale: float = 1.0) -> Percentiles:
    """Nearest-rank percentiles, multiplied by `scale` and rounded to 0.1."""
    ordered = sorted(values)

    def rank(q: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * scale, 1)

    return Percentiles(
        p50=rank(0.5), p90=rank(0.9), p95=rank(0.95), p99=rank(0.99), samples=len(ordered)
    )


def _rate(good: int, total: int) -> float | None:
    return round(good / total, 4) if total else None


class Stats:
    def __init__(self) -> None:
        self.started_at = datetime.now(UTC)
        self._started = time.monotonic()
        self._requests = 0
        self._client_errors = 0
        self._server_errors = 0
        self._latencies: deque[float] = deque(maxlen=WINDOW)
        self._runs: dict[str, int] = {}
        self._ttfts: deque[float] = deque(maxlen=WINDOW)
        self._rates: deque[float] = deque(maxlen=WINDOW)
        self._generated = 0
        self._prompt = 0

    @property
    def uptime_s(self) -> float:
        return round(time.monotonic() - self._started, 1)

    def request(self, status: int, duration_s: float) -> None:
        self._requests += 1
        if 400 <= status < 500:
            self._client_errors += 1
        elif status >= 500:
            self._server_errors += 1
        self._latencies.append(duration_s)

    def generated(self, count: int) -> None:
        self._generated += count

    def run(
        self, status: str, prompt_tokens: int, ttft_s: float | None, tokens_per_s: float | None
    ) -> None:
        self._runs[status] = self._runs.get(status, 0) + 1
        self._prompt += prompt_tokens
        if ttft_s is not None:
            self._ttfts.append(ttft_s)
        if tokens_per_s is not None:
            self._rates.append(tokens_per_s)

    def snapshot(self, active_runs: int, queued_runs: int) -> StatsPublic:
        runs = sum(self._runs.values())
        completed = self._runs.get("complete", 0)
        cancelled = self._runs.get("cancelled", 0)
        return StatsPublic(
            started_at=self.started_at,
            uptime_s=self.uptime_s,
            requests=RequestStats(
                total=self._requests,
                client_errors=self._client_errors,
                server_errors=self._server_errors,
                success_rate=_rate(self._requests - self._server_errors, self._requests),
                latency_ms=percentiles(self._latencies, 1000),
            ),
            runs=RunStats(
                total=runs,
                completed=completed,
                cancelled=cancelled,
                failed=self._runs.get("error", 0),
                interrupted=self._runs.get("interrupted", 0),
                # A run the user stopped did what was asked of it.
                success_rate=_rate(completed + cancelled, runs),
                active=active_runs,
                queued=queued_runs,
                ttft_ms=percentiles(self._ttfts, 1000),
                tokens_per_s=percentiles(self._rates),
            ),
            tokens=TokenStats(generated=self._generated, prompt=self._prompt),
        )
