"""Parley against the seed recipe and llama.cpp, measured in one run on one machine.

The seed recipe: one fp32 `model.generate` at a time behind a lock, which is what the services
Parley replaces do. llama.cpp: llama-cpp-python on the same GGUF with the same threads, one
request at a time as its server serves (in-process its `Llama`, over the network its server).
Parley: the engine the server would choose (`--engine auto`) serving every client at once,
either called in-process (`--via engine`) or through a real `parley serve` over WebSockets
(`--via websocket`). N clients each send one question at the same moment; every answer is
exactly `--tokens` new tokens (EOS ignored), greedy.

    python -m bench.run --via engine --concurrency 1 8 32 64

prints a table and writes `<via>.json` and `<via>.png` under `--out`; docs/performance.md
holds measured numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from tests.conftest import ServerProcess
from transformers import AutoTokenizer

from bench.llama_peer import LlamaServer, load_llama, run_llama_in_process, run_llama_server
from bench.measure import (
    CpuTimes,
    PeakMemory,
    RequestTiming,
    RunResult,
    draw_chart,
    print_table,
    questions,
    ratios,
    summarise,
)
from bench.seed_recipe import run_seed_recipe, seed_model
from bench.turns import (
    RestartTimes,
    TurnTimes,
    llama_server_turns,
    llama_turns,
    parley_turns,
    restart_table,
    restart_turns,
    seed_turns,
    server_turns,
    targets_table,
    turn_targets,
    turns_table,
)
from bench.websocket_clients import fresh_data_dir, run_websocket, served_engine, start_server
from parley.config import Settings
from parley.engine.base import ChatTurn, Engine, GenerationRequest, SamplingParams
from parley.engine.selection import quality
from parley.engine.selection.choice import llamacpp_unavailable
from parley.engine.selection.manager import build_engine
from parley.engine.specs import ModelSpec, gguf_file
from parley.engine.transformers.engine import weights_folder
from parley.protocol import Pieces

Result = TypeVar("Result")

# A run: N questions in, one timing per question out.
Runner = Callable[[list[str], int], Awaitable[list[RequestTiming]]]


def engine_runner(engine: Engine) -> Runner:
    async def run(batch: list[str], tokens: int) -> list[RequestTiming]:
        params = SamplingParams(max_tokens=tokens, temperature=0.0, ignore_eos=True)

        async def one(index: int, question: str) -> RequestTiming:
            timing = RequestTiming()
            turns = (ChatTurn("user", question),)
            request = GenerationRequest(f"bench-{index}", turns, params=params)
            async for event in engine.generate(request):
                if isinstance(event, Pieces):
                    # Pieces may carry several tokens (a character cut across them).
                    for _ in range(event.completion_tokens - timing.completion_tokens):
                        timing.arrived(1)
            return timing

        return list(await asyncio.gather(*(one(i, q) for i, q in enumerate(batch))))

    return run


# Above this share of CPU time stolen by the host during a run, its ratios are flagged.
STOLEN_SHARE_WARNING = 0.05


async def measure(
    system: str, runner: Runner, memory: PeakMemory, ns: list[int], tokens: int
) -> list[RunResult]:
    await runner(questions(2), 4)  # Warm-up: first calls allocate and pick kernels.
    results = []
    for n in ns:
        memory.reset()
        cpu_before = CpuTimes.now()
        started = time.perf_counter()
        timings = await runner(questions(n), tokens)
        wall_s = time.perf_counter() - started
        results.append(summarise(system, n, timings, wall_s, memory, cpu_before))
        print_table(results[-1:])
    return results


async def measure_seed(
    folder: Path, dummy_config: str | None, ns: list[int], tokens: int
) -> list[RunResult]:
    """The seed recipe's runs; its fp32 model is freed when they are done."""
    model = seed_model(folder, dummy_config)
    tokenizer = AutoTokenizer.from_pretrained(folder)

    async def seed_runner(batch: list[str], tokens: int) -> list[RequestTiming]:
        prompts = [
            str(
                tokenizer.apply_chat_template(
                    [{"role": "user", "content": question}],
                    tokenize=False,
                    add_generation_prompt=True,
                )
            )
            for question in batch
        ]
        return await run_seed_recipe(model, tokenizer, prompts, tokens)

    return await measure("seed", seed_runner, PeakMemory(), ns, tokens)


def seed_in_process(
    folder: Path, dummy_config: str | None, ns: list[int], tokens: int, cpu_threads: int
) -> list[RunResult]:
    """`measure_seed` in a child process (see main)."""
    if cpu_threads:
        torch.set_num_threads(cpu_threads)
    return asyncio.run(measure_seed(folder, dummy_config, ns, tokens))


def llama_in_process(gguf: Path, ns: list[int], tokens: int, threads: int) -> list[RunResult]:
    """llama-cpp-python's `Llama`, one request at a time, in a child process (see main)."""
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-peer")
    llama = worker.submit(load_llama, gguf, threads).result()

    async def runner(batch: list[str], tokens: int) -> list[RequestTiming]:
        return await run_llama_in_process(llama, worker, batch, tokens)

    try:
        return asyncio.run(measure("llamacpp", runner, PeakMemory(), ns, tokens))
    finally:
        worker.submit(llama.close).result()
        worker.shutdown()


async def in_child(function: Callable[..., list[Result]], *args: object) -> list[Result]:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return await asyncio.wrap_future(pool.submit(function, *args))


async def measure_llama_server(
    gguf: Path, ns: list[int], tokens: int, threads: int, log_dir: Path
) -> list[RunResult]:
    """llama-cpp-python's own server, streaming over HTTP."""
    from llama_cpp import Llama

    eos = int(Llama(model_path=str(gguf), vocab_only=True, verbose=False).token_eos())
    server = LlamaServer(gguf, threads, log_dir / "llama-server.log").start()
    try:
        assert server.process is not None

        async def runner(batch: list[str], tokens: int) -> list[RequestTiming]:
            return await run_llama_server(server, batch, tokens, eos)

        return await measure("llamacpp", runner, PeakMemory(server.process.pid), ns, tokens)
    finally:
        server.stop()


async def measure_turns(
    args: argparse.Namespace, spec: ModelSpec, settings: Settings, gguf: Path | None, threads: int
) -> None:
    """The multi-turn scenario: the seed recipe and the peer first and alone, then Parley (in
    process or through a real server), then the restart scenario (through a server); tables,
    issue 25's targets and `turns-<via>.json` under --out."""
    load_before = os.getloadavg()[0]
    results: list[TurnTimes] = []
    seed_ns = args.concurrency if args.seed_concurrency is None else args.seed_concurrency
    if seed_ns and args.dummy_config is None:
        folder = weights_folder(spec.path, settings.engine_config())
        results += await in_child(seed_turns, folder, seed_ns, args.turns, args.tokens, threads)
    llama_ns = args.concurrency if args.llama_concurrency is None else args.llama_concurrency
    if gguf is not None and llama_ns and llamacpp_unavailable() is None:
        if args.via == "engine":
            results += await in_child(llama_turns, gguf, llama_ns, args.turns, args.tokens, threads)
        else:
            log = args.out / "llama-server.log"
            results += await llama_server_turns(
                gguf, llama_ns, args.turns, args.tokens, threads, log
            )

    restart: RestartTimes | None = None
    if args.via == "engine":
        engine = build_engine(spec, settings.engine_config()).engine
        try:
            results += await parley_turns(engine, args.concurrency, args.turns, args.tokens)
        finally:
            await engine.close()
    else:

        def start(data_dir: Path) -> ServerProcess:
            runs = max(args.concurrency)
            return start_server(data_dir, runs, threads, args.engine, args.kv_cache_gib)

        server = start(fresh_data_dir(args.data_dir, "turns"))
        try:
            results += await server_turns(server, args.concurrency, args.turns, args.tokens)
        finally:
            server.stop()
        if args.restart_turns:
            restart = await restart_turns(start, args.data_dir, args.restart_turns, args.tokens)

    targets = turn_targets(results) + (restart.targets() if restart else [])
    print()
    print("\n".join(turns_table(results)))
    if restart is not None:
        print()
        print("\n".join(restart_table(restart)))
    print()
    print("\n".join(targets_table(targets)))
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "command": "python -m bench.run " + " ".join(sys.argv[1:]),
        "via": args.via,
        "machine": machine(threads) | {"load_average_1m_at_start": load_before},
        "tokens_per_answer": args.tokens,
        "results": [asdict(r) for r in results],
        "restart": asdict(restart) if restart else None,
        "targets": [asdict(t) | {"holds": t.holds} for t in targets],
    }
    path = args.out / f"turns-{args.via}.json"
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"wrote {path}")


def machine(threads: int) -> dict[str, object]:
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_flags": cpu_flags(),
        "llama_cpp_build": llamacpp_build(),
        "load_average_1m_at_end": os.getloadavg()[0],
        "torch": torch.__version__,
        "threads": threads,
    }


def cpu_flags() -> dict[str, bool]:
    """The CPU features that decide the fast paths (Linux)."""
    flags = set(quality.cpu_flags())
    names = ("avx2", "avx512f", "avx512vbmi", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    return {name: name in flags for name in names}


def llamacpp_build() -> str | None:
    """The instruction sets llama.cpp was compiled for (scripts/install.sh picks them per CPU)."""
    try:
        import llama_cpp
    except Exception:  # Not installed or not built: the peer and the engine are skipped.
        return None
    info: bytes = llama_cpp.llama_print_system_info()
    return info.decode().strip()


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--via", choices=["engine", "websocket"], default="engine")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per answer")
    parser.add_argument("--model", default="smollm2", help="'smollm2', a .gguf or a HF folder")
    parser.add_argument("--dummy-config", help="random weights in this config.json's shape")
    parser.add_argument(
        "--engine",
        choices=["auto", "transformers", "llamacpp"],
        default="auto",
        help="Parley's engine for the model (auto: as the server would choose)",
    )
    parser.add_argument("--seed-concurrency", type=int, nargs="*", help="default: --concurrency")
    parser.add_argument(
        "--llama-concurrency",
        type=int,
        nargs="*",
        help="llama-cpp-python's runs (default: --concurrency; none without a GGUF)",
    )
    parser.add_argument(
        "--cpu-threads",
        type=int,
        default=0,
        help="threads for every system (torch and llama.cpp); 0: one per core",
    )
    parser.add_argument("--kv-cache-gib", type=float, default=1.0, help="Parley's KV memory")
    parser.add_argument(
        "--turns",
        type=int,
        default=0,
        help="the multi-turn scenario instead (bench/turns.py): each --concurrency value is a "
        "number of conversations taking this many turns",
    )
    parser.add_argument(
        "--restart-turns",
        type=int,
        default=0,
        help="with --turns and --via websocket: also the restart scenario, on a conversation "
        "of this many turns (10: some 2,000 tokens)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "parley")
    args = parser.parse_args()
    if args.via == "websocket" and (args.model != "smollm2" or args.dummy_config):
        parser.error("--via websocket serves the server's default model; leave --model alone")
    if args.restart_turns and (args.via != "websocket" or not args.turns):
        parser.error("--restart-turns restarts a server: it needs --turns and --via websocket")

    threads = args.cpu_threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    settings = Settings(
        data_dir=args.data_dir,
        max_concurrent_runs=max(args.concurrency),
        cpu_threads=threads,
        kv_cache_gib=args.kv_cache_gib,
    )
    spec = ModelSpec(
        id=args.model, path=args.model, dummy_config=args.dummy_config, engine=args.engine
    )
    gguf = gguf_file(spec.path) if args.dummy_config is None else None
    if args.turns:
        await measure_turns(args, spec, settings, gguf, threads)
        return
    results: list[RunResult] = []

    # Each baseline first and alone, so none competes for the CPU; each in a process of its
    # own, because torch's worker threads from the seed's runs linger and slowed Parley's
    # batch-1 steps measured after it in the same process by about a quarter.
    seed_ns = args.concurrency if args.seed_concurrency is None else args.seed_concurrency
    if seed_ns:
        # Only the seed needs transformers' weights (converted from a GGUF once per data dir).
        folder = weights_folder(spec.path, settings.engine_config())
        results += await in_child(
            seed_in_process, folder, args.dummy_config, seed_ns, args.tokens, threads
        )
    llama_ns = args.concurrency if args.llama_concurrency is None else args.llama_concurrency
    if gguf is not None and llama_ns and llamacpp_unavailable() is None:
        if args.via == "engine":
            results += await in_child(llama_in_process, gguf, llama_ns, args.tokens, threads)
        else:
            results += await measure_llama_server(gguf, llama_ns, args.tokens, threads, args.out)

    if args.via == "engine":
        loaded = build_engine(spec, settings.engine_config())
        engine, note = loaded.engine, loaded.note
        parley_engine = f"{engine.card.engine}/{engine.card.dtype}"
        try:
            runner = engine_runner(engine)
            results += await measure("parley", runner, PeakMemory(), args.concurrency, args.tokens)
        finally:
            await engine.close()
    else:
        server = start_server(
            args.data_dir, max(args.concurrency), threads, args.engine, args.kv_cache_gib
        )
        try:

            async def socket_runner(batch: list[str], tokens: int) -> list[RequestTiming]:
                return await run_websocket(server, batch, tokens)

            assert server.process is not None
            memory = PeakMemory(server.process.pid)
            results += await measure("parley", socket_runner, memory, args.concurrency, args.tokens)
            parley_engine, note = await served_engine(server)
        finally:
            server.stop()

    print()
    print_table(results)
    table = ratios(results)
    for row in table:
        print(
            f"N={row['concurrency']:>3}: {row['tokens_per_s_ratio']:.2f}x {row['baseline']} "
            f"tokens/s, TTFT p95 {row['ttft_p95_ratio']:.3f}x {row['baseline']}"
        )
    disturbed = [r for r in results if r.cpu_stolen_share > STOLEN_SHARE_WARNING]
    for r in disturbed:
        print(
            f"warning: {r.system} at N={r.concurrency} ran with {r.cpu_stolen_share:.0%} of the "
            "CPU stolen by the host; ratios against it are not fair"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "command": "python -m bench.run " + " ".join(sys.argv[1:]),
        "via": args.via,
        "machine": machine(threads),
        "model": args.model,
        "dummy_config": args.dummy_config,
        "parley_engine": parley_engine,
        "parley_engine_note": note,
        "tokens_per_answer": args.tokens,
        "results": [asdict(r) for r in results],
        "ratios": table,
    }
    json_path, png_path = args.out / f"{args.via}.json", args.out / f"{args.via}.png"
    json_path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    draw_chart(results, png_path, f"{args.model} via {args.via}: Parley ({parley_engine})")
    print(f"wrote {json_path} and {png_path}")


if __name__ == "__main__":
    asyncio.run(main())
