"""Conversations taking turns: the time to each turn's first token, Parley against llama.cpp.

C conversations of T turns, in rounds: turn 1 of every conversation, one after another, then
turn 2 of every one, and so on, each turn sent once the one before it has ended, as people
chatting take turns. Every user message is some 170 tokens (a paragraph of notes and a
question), every answer `tokens` new tokens (EOS ignored), greedy. What a turn waits for is
reading its prompt: the whole conversation so far, unless the engine kept it from the turn
before. llama.cpp (llama-cpp-python's `Llama`) keeps the one prompt it read last and reads
only what follows it, so it answers one conversation, and the first in each round after
another conversation's turn re-reads.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.llama_peer import load_llama
from parley.engine.base import ChatTurn, Engine, GenerationRequest, SamplingParams
from parley.protocol import Finished, Pieces

# The peer's context: ten turns of 170-token messages and their answers fit.
PEER_CONTEXT = 8192

# One turn of a conversation: its history in, (the answer, its TTFT in seconds) out.
TurnRunner = Callable[[list[ChatTurn]], Awaitable[tuple[str, float]]]

_PLACES = ["harbour", "mill", "bridge", "chapel", "market", "lighthouse", "tower"]


def user_message(conversation: int, turn: int) -> str:
    """Some 170 tokens: notes that differ per conversation and turn, then a question."""
    notes = " ".join(
        f"The {place} of village {conversation}-{turn} was built in "
        f"{1700 + 13 * i + 7 * turn + conversation} and repaired {i + 2} times since."
        for i, place in enumerate(_PLACES)
    )
    return f"Here are more notes. {notes} Which of these is the oldest, and why?"


@dataclass(frozen=True, slots=True)
class TurnTimes:
    system: str
    conversations: int
    # Per turn (index 0 is turn 1): the median over the conversations of the TTFT in ms.
    ttft_ms: list[float]

    def row(self, shown: list[int]) -> str:
        cells = " | ".join(f"{self.ttft_ms[t - 1]:,.0f}" for t in shown)
        growth = self.ttft_ms[-1] / self.ttft_ms[0]
        return f"| {self.system} | {self.conversations} | {cells} | {growth:.1f}x |"


async def run_turns(system: str, runner: TurnRunner, conversations: int, turns: int) -> TurnTimes:
    histories: list[list[ChatTurn]] = [[] for _ in range(conversations)]
    ttft: list[list[float]] = [[] for _ in range(turns)]
    for turn in range(turns):
        for c, history in enumerate(histories):
            history.append(ChatTurn("user", user_message(c, turn)))
            answer, seconds = await runner(history)
            history.append(ChatTurn("assistant", answer))
            ttft[turn].append(seconds * 1000)
        median = statistics.median(ttft[turn])
        print(f"{system} C={conversations} turn {turn + 1}: TTFT {median:.0f} ms", flush=True)
    return TurnTimes(system, conversations, [statistics.median(t) for t in ttft])


def engine_turn_runner(engine: Engine, tokens: int) -> TurnRunner:
    params = SamplingParams(max_tokens=tokens, temperature=0.0, ignore_eos=True)
    count = 0

    async def run(history: list[ChatTurn]) -> tuple[str, float]:
        nonlocal count
        count += 1
        request = GenerationRequest(f"turn-{count}", tuple(history), params=params)
        started = time.perf_counter()
        first: float | None = None
        text: list[str] = []
        async for event in engine.generate(request):
            if isinstance(event, Pieces) and event.completion_tokens and first is None:
                first = time.perf_counter() - started
            if isinstance(event, Pieces):
                text.extend(piece.text for piece in event.pieces if piece.channel == "answer")
            if isinstance(event, Finished):
                break
        assert first is not None
        return "".join(text), first

    return run


def llama_turn_runner(llama: Any, worker: ThreadPoolExecutor, tokens: int) -> TurnRunner:
    """llama-cpp-python's `Llama` on `worker` (one thread, see llama_peer.py)."""
    bias = {int(llama.token_eos()): -1e9}

    def generate(history: list[ChatTurn]) -> tuple[str, float]:
        started = time.perf_counter()
        first: float | None = None
        text: list[str] = []
        stream = llama.create_chat_completion(
            [{"role": turn.role, "content": turn.content} for turn in history],
            max_tokens=tokens,
            temperature=0.0,
            stream=True,
            logit_bias=bias,
        )
        for chunk in stream:
            content = chunk["choices"][0]["delta"].get("content")
            if content:
                first = first if first is not None else time.perf_counter() - started
                text.append(content)
        assert first is not None
        return "".join(text), first

    async def run(history: list[ChatTurn]) -> tuple[str, float]:
        return await asyncio.get_running_loop().run_in_executor(worker, generate, history)

    return run


def llama_turns(
    gguf: Path, conversations: list[int], turns: int, tokens: int, threads: int
) -> list[TurnTimes]:
    """The peer's runs, in a child process of its own (see bench.run)."""
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-peer")
    llama = worker.submit(load_llama, gguf, threads, PEER_CONTEXT).result()
    try:
        runner = llama_turn_runner(llama, worker, tokens)
        return [asyncio.run(run_turns("llamacpp", runner, c, turns)) for c in conversations]
    finally:
        worker.submit(llama.close).result()
        worker.shutdown()


async def parley_turns(
    load: Callable[[], Engine], conversations: list[int], turns: int, tokens: int
) -> list[TurnTimes]:
    """Parley's runs, each on a newly loaded engine (nothing kept from the run before)."""
    results = []
    for c in conversations:
        engine = load()
        try:
            await engine_turn_runner(engine, tokens)([ChatTurn("user", "Hi!")])  # Warm-up
            results.append(await run_turns("parley", engine_turn_runner(engine, tokens), c, turns))
        finally:
            await engine.close()
    return results


def print_turns(results: list[TurnTimes], turns: int) -> None:
    shown = sorted({1, min(5, turns), turns})
    print(
        "| system | conversations | "
        + " | ".join(f"turn {t} (ms)" for t in shown)
        + " | last / first |"
    )
    print("|---" * (len(shown) + 3) + "|")
    for result in results:
        print(result.row(shown))
