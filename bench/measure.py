"""What a benchmark run records per request, and the summary, table and chart made from it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

QUESTIONS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Explain how a bicycle works to a child of ten.",
    "Give me three tips for learning a new language.",
    "Why is the sky blue?",
    "Summarise the plot of Romeo and Juliet in two sentences.",
    "What should I pack for a weekend of hiking in the mountains?",
    "How do I make a good cup of tea?",
    "List the planets of the solar system in order from the sun.",
    "What is the difference between weather and climate?",
    "Suggest a name for a small bakery that sells sourdough bread.",
    "How does a refrigerator keep food cold?",
    "Write a short, polite email declining a meeting invitation.",
    "What are the main causes of the French Revolution?",
    "Describe the taste of a ripe mango to someone who has never had one.",
    "How many minutes are there in a week? Show your reasoning.",
]


def questions(n: int) -> list[str]:
    return [QUESTIONS[i % len(QUESTIONS)] for i in range(n)]


@dataclass(slots=True)
class RequestTiming:
    """One request: when it was sent and when each piece of its answer arrived."""

    submitted: float = field(default_factory=time.perf_counter)
    # One entry per arrival (a token, or over WebSocket a chunk frame).
    arrivals: list[float] = field(default_factory=list)
    completion_tokens: int = 0

    def arrived(self, tokens: int) -> None:
        self.arrivals.append(time.perf_counter())
        self.completion_tokens += tokens

    @property
    def ttft_s(self) -> float:
        return self.arrivals[0] - self.submitted


@dataclass(frozen=True, slots=True)
class RunResult:
    system: str
    concurrency: int
    wall_s: float
    completion_tokens: int
    tokens_per_s: float
    ttft_p50_s: float
    ttft_p95_s: float
    # Gaps between arrivals: per token in-process, per chunk frame over WebSocket.
    itl_p50_ms: float
    itl_p95_ms: float
    peak_rss_bytes: int
    # Peak resident memory above what the process held before the run (KV cache, activations).
    peak_rss_growth_bytes: int
    # Share of the machine's CPU time the hypervisor gave to other guests during the run: a
    # ratio between two systems is only fair when both ran with little stolen.
    cpu_stolen_share: float


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


class PeakMemory:
    """Peak resident memory of a process (Linux), reset at the start of each run."""

    def __init__(self, pid: int | str = "self") -> None:
        self._proc = Path("/proc") / str(pid)
        self._before = 0

    def _field(self, name: str) -> int:
        for line in (self._proc / "status").read_text(encoding="ascii").splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def reset(self) -> None:
        (self._proc / "clear_refs").write_text("5", encoding="ascii")
        self._before = self._field("VmRSS")

    def peak_and_growth(self) -> tuple[int, int]:
        peak = self._field("VmHWM")
        return peak, max(0, peak - self._before)


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """All CPUs' time since boot (Linux `/proc/stat`, in clock ticks): in all, and stolen."""

    total: int
    stolen: int

    @classmethod
    def now(cls) -> CpuTimes:
        try:
            fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()
        except OSError:
            return cls(0, 0)
        # user nice system idle iowait irq softirq steal; guest time is already in user.
        ticks = [int(value) for value in fields[1:9]]
        return cls(total=sum(ticks), stolen=ticks[7] if len(ticks) > 7 else 0)

    def stolen_share_since(self, earlier: CpuTimes) -> float:
        elapsed = self.total - earlier.total
        return (self.stolen - earlier.stolen) / elapsed if elapsed > 0 else 0.0


def summarise(
    system: str,
    concurrency: int,
    timings: list[RequestTiming],
    wall_s: float,
    memory: PeakMemory,
    cpu_before: CpuTimes,
) -> RunResult:
    ttfts = [t.ttft_s for t in timings if t.arrivals]
    gaps = [
        later - earlier
        for t in timings
        for earlier, later in zip(t.arrivals, t.arrivals[1:], strict=False)
    ]
    tokens = sum(t.completion_tokens for t in timings)
    peak, growth = memory.peak_and_growth()
    return RunResult(
        system=system,
        concurrency=concurrency,
        wall_s=wall_s,
        completion_tokens=tokens,
        tokens_per_s=tokens / wall_s,
        ttft_p50_s=percentile(ttfts, 0.50),
        ttft_p95_s=percentile(ttfts, 0.95),
        itl_p50_ms=percentile(gaps, 0.50) * 1000,
        itl_p95_ms=percentile(gaps, 0.95) * 1000,
        peak_rss_bytes=peak,
        peak_rss_growth_bytes=growth,
        cpu_stolen_share=CpuTimes.now().stolen_share_since(cpu_before),
    )


def print_table(results: Sequence[RunResult]) -> None:
    print(
        f"{'system':<8} {'N':>3} {'tok/s':>8} {'TTFT p50':>9} {'TTFT p95':>9} "
        f"{'ITL p50':>8} {'ITL p95':>8} {'peak RSS':>9} {'growth':>8} {'stolen':>7}"
    )
    for r in results:
        print(
            f"{r.system:<8} {r.concurrency:>3} {r.tokens_per_s:>8.1f} {r.ttft_p50_s:>8.2f}s "
            f"{r.ttft_p95_s:>8.2f}s {r.itl_p50_ms:>6.0f}ms {r.itl_p95_ms:>6.0f}ms "
            f"{r.peak_rss_bytes / 2**30:>7.2f}Gi {r.peak_rss_growth_bytes / 2**20:>6.0f}Mi "
            f"{r.cpu_stolen_share:>6.1%}"
        )


BASELINES = ("seed", "llamacpp")
SYSTEMS = (*BASELINES, "parley")


def ratios(results: Sequence[RunResult]) -> list[dict[str, float | str]]:
    """Parley against each baseline at each concurrency both were measured at."""
    rows: list[dict[str, float | str]] = []
    for baseline in BASELINES:
        base = {r.concurrency: r for r in results if r.system == baseline}
        rows += [
            {
                "baseline": baseline,
                "concurrency": r.concurrency,
                "tokens_per_s_ratio": r.tokens_per_s / base[r.concurrency].tokens_per_s,
                "ttft_p95_ratio": r.ttft_p95_s / base[r.concurrency].ttft_p95_s,
            }
            for r in results
            if r.system == "parley" and r.concurrency in base
        ]
    return rows


def draw_chart(results: Sequence[RunResult], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    figure, (throughput, ttft) = plt.subplots(1, 2, figsize=(11, 4.2))
    for system, style in zip(SYSTEMS, ("o--", "^:", "s-"), strict=True):
        rows = [r for r in results if r.system == system]
        if not rows:
            continue
        ns = [r.concurrency for r in rows]
        throughput.plot(ns, [r.tokens_per_s for r in rows], style, label=system)
        ttft.plot(ns, [r.ttft_p95_s for r in rows], style, label=f"{system} p95")
        ttft.plot(ns, [r.ttft_p50_s for r in rows], style, alpha=0.4, label=f"{system} p50")
    throughput.set(xlabel="concurrent clients", ylabel="aggregate tokens/s", xscale="log")
    ttft.set(xlabel="concurrent clients", ylabel="time to first token (s)", xscale="log")
    ttft.set_yscale("log")
    for axes in (throughput, ttft):
        axes.set_xticks(sorted({r.concurrency for r in results}))
        axes.get_xaxis().set_major_formatter(ScalarFormatter())
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
