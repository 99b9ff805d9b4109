"""Parley's batching engine against the seed recipe, measured in one run on one machine.

The seed recipe: one fp32 `model.generate` at a time behind a lock, which is what the services
Parley replaces do. Parley: the engine's own decode loop (engine/scheduler.py) serving every
client at once, in the precision the engine picks for the device. N clients each send one
prompt at the same moment; every answer is exactly `--tokens` new tokens (EOS ignored), greedy.

    PYTHONPATH=backend python bench/engine_bench.py --concurrency 1 8 32 64

prints a table and writes `engine_bench.json` and `engine_bench.png` under `--out`.
See docs/performance.md for measured numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PreTrainedModel
from transformers.generation.streamers import BaseStreamer

from parley.config import Settings
from parley.engine.base import ChatTurn, Delta, Engine, GenerationRequest, SamplingParams
from parley.engine.hf import load_engine, weights_folder
from parley.engine.specs import ModelSpec

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


@dataclass(slots=True)
class RequestTiming:
    submitted: float
    token_times: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RunResult:
    system: str
    concurrency: int
    wall_s: float
    completion_tokens: int
    tokens_per_s: float
    ttft_p50_s: float
    ttft_p95_s: float
    itl_p50_ms: float
    itl_p95_ms: float
    peak_rss_bytes: int
    # Peak resident memory above what the process held before the run (KV cache, activations).
    peak_rss_growth_bytes: int


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _rss_field(name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak_rss() -> int:
    """Restart the kernel's peak-RSS counter (Linux) and return the current RSS."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
        clear_refs.write("5")
    return _rss_field("VmRSS")


def summarise(
    system: str, concurrency: int, timings: list[RequestTiming], wall_s: float, rss_before: int
) -> RunResult:
    ttfts = [t.token_times[0] - t.submitted for t in timings if t.token_times]
    gaps = [
        later - earlier
        for t in timings
        for earlier, later in zip(t.token_times, t.token_times[1:], strict=False)
    ]
    tokens = sum(len(t.token_times) for t in timings)
    peak = _rss_field("VmHWM")
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
        peak_rss_growth_bytes=max(0, peak - rss_before),
    )


# ---- Parley's engine ----


async def run_engine(engine: Engine, prompts: list[str], tokens: int) -> list[RequestTiming]:
    params = SamplingParams(max_tokens=tokens, temperature=0.0, ignore_eos=True)

    async def one(index: int, prompt: str) -> RequestTiming:
        timing = RequestTiming(time.perf_counter())
        seen = 0
        async for event in engine.generate(GenerationRequest(f"bench-{index}", prompt, params)):
            if isinstance(event, Delta):
                # A delta may carry several tokens (a character cut across them): same arrival.
                now = time.perf_counter()
                timing.token_times.extend([now] * (event.completion_tokens - seen))
                seen = event.completion_tokens
        return timing

    return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(prompts))))


# ---- the seed recipe ----


class _TimingStreamer(BaseStreamer):
    """Records when `generate` produces each new token (its first `put` is the prompt)."""

    def __init__(self, timing: RequestTiming) -> None:
        self._timing = timing
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self._timing.token_times.append(time.perf_counter())

    def end(self) -> None:
        pass


async def run_seed_recipe(
    model: PreTrainedModel, tokenizer: Any, prompts: list[str], tokens: int
) -> list[RequestTiming]:
    lock = threading.Lock()

    def generate(timing: RequestTiming, prompt: str) -> None:
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with lock, torch.inference_mode():
            model.generate(
                **inputs,
                max_new_tokens=tokens,
                min_new_tokens=tokens,
                do_sample=False,
                streamer=_TimingStreamer(timing),
            )

    async def one(prompt: str) -> RequestTiming:
        timing = RequestTiming(time.perf_counter())
        await asyncio.to_thread(generate, timing, prompt)
        return timing

    return list(await asyncio.gather(*(one(p) for p in prompts)))


def seed_model(spec: ModelSpec, folder: Path) -> PreTrainedModel:
    if spec.dummy_config is not None:
        config = AutoConfig.from_pretrained(spec.dummy_config)
        model: PreTrainedModel = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    else:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    return model


# ---- report ----


def print_table(results: list[RunResult]) -> None:
    print(
        f"{'system':<8} {'N':>3} {'tok/s':>8} {'TTFT p50':>9} {'TTFT p95':>9} "
        f"{'ITL p50':>8} {'ITL p95':>8} {'peak RSS':>9} {'growth':>8}"
    )
    for r in results:
        print(
            f"{r.system:<8} {r.concurrency:>3} {r.tokens_per_s:>8.1f} {r.ttft_p50_s:>8.2f}s "
            f"{r.ttft_p95_s:>8.2f}s {r.itl_p50_ms:>6.0f}ms {r.itl_p95_ms:>6.0f}ms "
            f"{r.peak_rss_bytes / 2**30:>7.2f}Gi {r.peak_rss_growth_bytes / 2**20:>6.0f}Mi"
        )


def ratios(results: list[RunResult]) -> list[dict[str, float]]:
    seed = {r.concurrency: r for r in results if r.system == "seed"}
    rows = []
    for r in results:
        if r.system == "parley" and r.concurrency in seed:
            base = seed[r.concurrency]
            rows.append(
                {
                    "concurrency": r.concurrency,
                    "tokens_per_s_ratio": r.tokens_per_s / base.tokens_per_s,
                    "ttft_p95_ratio": r.ttft_p95_s / base.ttft_p95_s,
                }
            )
    return rows


def draw_chart(results: list[RunResult], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (throughput, ttft) = plt.subplots(1, 2, figsize=(11, 4.2))
    for system, style in (("seed", "o--"), ("parley", "s-")):
        rows = [r for r in results if r.system == system]
        ns = [r.concurrency for r in rows]
        throughput.plot(ns, [r.tokens_per_s for r in rows], style, label=system)
        ttft.plot(ns, [r.ttft_p95_s for r in rows], style, label=f"{system} p95")
        ttft.plot(ns, [r.ttft_p50_s for r in rows], style, alpha=0.4, label=f"{system} p50")
    throughput.set(xlabel="concurrent clients", ylabel="aggregate tokens/s", xscale="log")
    ttft.set(xlabel="concurrent clients", ylabel="time to first token (s)", xscale="log")
    ttft.set_yscale("log")
    for axes in (throughput, ttft):
        axes.set_xticks([r.concurrency for r in results if r.system == "parley"])
        axes.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per answer")
    parser.add_argument("--model", default="smollm2", help="'smollm2', a .gguf or a HF folder")
    parser.add_argument("--dummy-config", help="random weights in this config.json's shape")
    parser.add_argument("--skip-seed", action="store_true", help="measure only Parley")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "parley")
    args = parser.parse_args()

    settings = Settings(data_dir=args.data_dir, max_concurrent_runs=max(args.concurrency))
    spec = ModelSpec(id=args.model, path=args.model, dummy_config=args.dummy_config)
    engine = load_engine(spec, settings)
    folder = weights_folder(spec.path, settings)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    seed = None if args.skip_seed else seed_model(spec, folder)
    print(f"parley: {engine.card.dtype} on {engine.card.device}; seed: float32 generate")

    def prompts(n: int) -> list[str]:
        turns = [[ChatTurn("user", QUESTIONS[i % len(QUESTIONS)])] for i in range(n)]
        return [engine.render_prompt(t, enable_thinking=None) for t in turns]

    # Warm both paths once (first calls allocate and pick kernels).
    await run_engine(engine, prompts(2), 4)
    if seed is not None:
        await run_seed_recipe(seed, tokenizer, prompts(1), 4)

    results: list[RunResult] = []
    for n in args.concurrency:
        for system in ("parley",) if seed is None else ("parley", "seed"):
            rss_before = _reset_peak_rss()
            started = time.perf_counter()
            if system == "parley":
                timings = await run_engine(engine, prompts(n), args.tokens)
            else:
                assert seed is not None
                timings = await run_seed_recipe(seed, tokenizer, prompts(n), args.tokens)
            wall = time.perf_counter() - started
            results.append(summarise(system, n, timings, wall, rss_before))
            print_table(results[-1:])
    await engine.close()

    print()
    print_table(results)
    for row in ratios(results):
        print(
            f"N={row['concurrency']:>3}: {row['tokens_per_s_ratio']:.1f}x seed tok/s, "
            f"TTFT p95 {row['ttft_p95_ratio']:.3f}x seed"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "command": "PYTHONPATH=backend python bench/engine_bench.py " + " ".join(sys.argv[1:]),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        },
        "model": args.model,
        "dummy_config": args.dummy_config,
        "parley_dtype": engine.card.dtype,
        "tokens_per_answer": args.tokens,
        "results": [asdict(r) for r in results],
        "ratios": ratios(results),
    }
    (args.out / "engine_bench.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    draw_chart(results, args.out / "engine_bench.png", f"{args.model}: Parley engine vs seed")
    print(f"wrote {args.out / 'engine_bench.json'} and {args.out / 'engine_bench.png'}")


if __name__ == "__main__":
    asyncio.run(main())
