"""Conversations taking turns: the time to each turn's first token, Parley against its peers.

C conversations of T turns, in rounds: turn 1 of every conversation, one after another, then
turn 2 of every one, and so on, each turn sent once the one before it has ended, as people
chatting take turns. Every user message is some 170 tokens (a paragraph of notes and a
question), every answer `tokens` new tokens (EOS ignored), greedy. What a turn waits for is
reading its prompt: the whole conversation so far, unless the system kept it from the turn
before. llama.cpp (llama-cpp-python's `Llama`, in process or behind its server) keeps the one
prompt it read last and reads only what follows it, so it answers one conversation, and the
first in each round after another conversation's turn re-reads. The seed recipe reads every
prompt whole.

The restart scenario (`restart_turns`): one conversation (10 turns: some 2,000 tokens) on a server;
its next turn's TTFT after the server is stopped and started again on the same data directory,
the same prompt again with the state in memory, and the same number of tokens read whole by a
server on a fresh data directory.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tests.conftest import ServerProcess
from transformers import AutoTokenizer
from websockets.asyncio.client import ClientConnection

from bench.llama_peer import LlamaServer, load_llama, stream_llama_chat
from bench.measure import RequestTiming
from bench.seed_recipe import seed_generate, seed_model
from bench.websocket_clients import (
    ask,
    connect,
    fresh_data_dir,
    log_in,
    new_conversation,
    new_user,
    new_user_token,
    open_socket,
    regenerate,
    run_websocket,
)
from parley.engine.base import ChatTurn, Engine, GenerationRequest, SamplingParams
from parley.protocol import Finished, Pieces

# The peer's context: ten turns of 170-token messages and their answers fit.
PEER_CONTEXT = 8192

# One turn: a conversation's number and its history, ending with the new user message, in;
# (the answer, its TTFT in seconds) out.
TurnRunner = Callable[[int, list[ChatTurn]], Awaitable[tuple[str, float]]]

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

    @property
    def growth(self) -> float:
        """The last turn's TTFT over the first's."""
        return self.ttft_ms[-1] / self.ttft_ms[0]


@dataclass(frozen=True, slots=True)
class Target:
    """One of issue 25's targets: a ratio of two TTFTs measured in one run, and its limit."""

    name: str
    ratio: float
    limit: float

    @property
    def holds(self) -> bool:
        return self.ratio <= self.limit


# The targets' limits (issue 25).
LAST_TURN_VS_LLAMACPP = 1.2
LAST_TURN_VS_FIRST = 2.0
RESTART_VS_IN_MEMORY = 2.0
RESTART_VS_REREAD = 0.5


def turn_targets(results: Sequence[TurnTimes]) -> list[Target]:
    """Parley's last turn against llama.cpp's with one conversation, and against its own first
    turn with several conversations taking turns; a target whose runs are missing is left out."""
    alone = {r.system: r for r in results if r.conversations == 1}
    targets = []
    if "parley" in alone and "llamacpp" in alone:
        parley, peer = alone["parley"], alone["llamacpp"]
        targets.append(
            Target(
                f"Parley / llama.cpp, turn {len(parley.ttft_ms)}, 1 conversation",
                parley.ttft_ms[-1] / peer.ttft_ms[-1],
                LAST_TURN_VS_LLAMACPP,
            )
        )
    targets += [
        Target(
            f"Parley turn {len(r.ttft_ms)} / turn 1, {r.conversations} conversations",
            r.growth,
            LAST_TURN_VS_FIRST,
        )
        for r in results
        if r.system == "parley" and r.conversations > 1
    ]
    return targets


def turns_table(results: Sequence[TurnTimes]) -> list[str]:
    """A markdown table: per run, the median TTFT of every turn in ms."""
    turns = max(len(r.ttft_ms) for r in results)
    lines = [
        "| system | conversations | "
        + " | ".join(f"turn {t}" for t in range(1, turns + 1))
        + " | last / first |",
        "|---" * (turns + 3) + "|",
    ]
    for r in results:
        cells = " | ".join(f"{ms:,.0f}" for ms in r.ttft_ms)
        lines.append(f"| {r.system} | {r.conversations} | {cells} | {r.growth:.1f}x |")
    return lines


def targets_table(targets: Sequence[Target]) -> list[str]:
    lines = ["| target | ratio | limit | holds |", "|---|---|---|---|"]
    for t in targets:
        lines.append(
            f"| {t.name} | {t.ratio:.2f}x | <= {t.limit}x | {'yes' if t.holds else 'no'} |"
        )
    return lines


async def run_turns(system: str, runner: TurnRunner, conversations: range, turns: int) -> TurnTimes:
    histories: dict[int, list[ChatTurn]] = {c: [] for c in conversations}
    ttft: list[list[float]] = [[] for _ in range(turns)]
    for turn in range(turns):
        for c, history in histories.items():
            history.append(ChatTurn("user", user_message(c, turn)))
            answer, seconds = await runner(c, history)
            history.append(ChatTurn("assistant", answer))
            ttft[turn].append(seconds * 1000)
        median = statistics.median(ttft[turn])
        print(f"{system} C={len(conversations)} turn {turn + 1}: TTFT {median:.0f} ms", flush=True)
    return TurnTimes(system, len(conversations), [statistics.median(t) for t in ttft])


async def run_each(
    system: str, runner: TurnRunner, conversations: Sequence[int], turns: int
) -> list[TurnTimes]:
    """One run per number of conversations, each on conversations numbered on from the run
    before's, so nothing a system kept from one run serves the next."""
    results, first = [], 0
    for count in conversations:
        results.append(await run_turns(system, runner, range(first, first + count), turns))
        first += count
    return results


def engine_turn_runner(engine: Engine, tokens: int) -> TurnRunner:
    params = SamplingParams(max_tokens=tokens, temperature=0.0, ignore_eos=True)
    count = 0

    async def run(conversation: int, history: list[ChatTurn]) -> tuple[str, float]:
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


def _messages(history: list[ChatTurn]) -> list[dict[str, str]]:
    return [{"role": turn.role, "content": turn.content} for turn in history]


def llama_turn_runner(llama: Any, worker: ThreadPoolExecutor, tokens: int) -> TurnRunner:
    """llama-cpp-python's `Llama` on `worker` (one thread, see llama_peer.py)."""
    bias = {int(llama.token_eos()): -1e9}

    def generate(history: list[ChatTurn]) -> tuple[str, float]:
        started = time.perf_counter()
        first: float | None = None
        text: list[str] = []
        stream = llama.create_chat_completion(
            _messages(history),
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

    async def run(conversation: int, history: list[ChatTurn]) -> tuple[str, float]:
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
        return asyncio.run(run_each("llamacpp", runner, conversations, turns))
    finally:
        worker.submit(llama.close).result()
        worker.shutdown()


async def llama_server_turns(
    gguf: Path, conversations: list[int], turns: int, tokens: int, threads: int, log_path: Path
) -> list[TurnTimes]:
    """The peer's runs through its own server, streaming over HTTP."""
    from llama_cpp import Llama

    eos = int(Llama(model_path=str(gguf), vocab_only=True, verbose=False).token_eos())
    server = LlamaServer(gguf, threads, log_path, PEER_CONTEXT).start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=3600) as http:

            async def run(conversation: int, history: list[ChatTurn]) -> tuple[str, float]:
                timing, text = await stream_llama_chat(http, _messages(history), tokens, eos)
                return text, timing.ttft_s

            await run(-1, [ChatTurn("user", "Hi!")])  # Warm-up
            return await run_each("llamacpp", run, conversations, turns)
    finally:
        server.stop()


def seed_turns(
    folder: Path, conversations: list[int], turns: int, tokens: int, threads: int
) -> list[TurnTimes]:
    """The seed recipe's runs (the whole prompt read every turn), in a child process of its
    own (see bench.run)."""
    import torch

    torch.set_num_threads(threads)
    model = seed_model(folder, None)
    tokenizer = AutoTokenizer.from_pretrained(folder)

    async def run(conversation: int, history: list[ChatTurn]) -> tuple[str, float]:
        prompt = str(
            tokenizer.apply_chat_template(
                _messages(history), tokenize=False, add_generation_prompt=True
            )
        )
        timing = RequestTiming()
        text = await asyncio.to_thread(seed_generate, model, tokenizer, prompt, tokens, timing)
        return text, timing.ttft_s

    async def measure() -> list[TurnTimes]:
        await run(-1, [ChatTurn("user", "Hi!")])  # Warm-up
        return await run_each("seed", run, conversations, turns)

    return asyncio.run(measure())


async def parley_turns(
    engine: Engine, conversations: list[int], turns: int, tokens: int
) -> list[TurnTimes]:
    """Parley's runs on an engine called in-process."""
    runner = engine_turn_runner(engine, tokens)
    await runner(-1, [ChatTurn("user", "Hi!")])  # Warm-up
    return await run_each("parley", runner, conversations, turns)


@asynccontextmanager
async def socket_turn_runner(server: ServerProcess, tokens: int) -> AsyncIterator[TurnRunner]:
    """Parley through a real server: a socket per conversation, each turn sending only the new
    message, as the app does (the server keeps the history)."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        token = await new_user_token(http)
        sockets: dict[int, ClientConnection] = {}

        async def run(conversation: int, history: list[ChatTurn]) -> tuple[str, float]:
            if conversation not in sockets:
                sockets[conversation] = await open_socket(server.ws_url, token, http)
            answer = await ask(sockets[conversation], history[-1].content, tokens)
            return answer.text, answer.timing.ttft_s

        try:
            yield run
        finally:
            await asyncio.gather(*(s.close() for s in sockets.values()))


async def server_turns(
    server: ServerProcess, conversations: list[int], turns: int, tokens: int
) -> list[TurnTimes]:
    await run_websocket(server, ["Hi!"], 4)  # Warm-up
    async with socket_turn_runner(server, tokens) as runner:
        return await run_each("parley", runner, conversations, turns)


@dataclass(frozen=True, slots=True)
class RestartTimes:
    """The restart scenario's TTFTs (ms) of one turn, and the prompt tokens each read and kept."""

    turns_before: int
    restarted_ms: float
    in_memory_ms: float
    reread_ms: float
    prompt_tokens: int
    restarted_cached_tokens: int
    in_memory_cached_tokens: int
    reread_prompt_tokens: int
    reread_cached_tokens: int

    def targets(self) -> list[Target]:
        return [
            Target(
                "restart / in memory", self.restarted_ms / self.in_memory_ms, RESTART_VS_IN_MEMORY
            ),
            Target("restart / re-read", self.restarted_ms / self.reread_ms, RESTART_VS_REREAD),
        ]


def flattened(history: Sequence[ChatTurn]) -> str:
    """A conversation as one message: the same text to read, nothing to reuse."""
    return "\n\n".join(f"{turn.role}: {turn.content}" for turn in history)


async def restart_turns(
    start: Callable[[Path], ServerProcess], root: Path, turns_before: int, tokens: int
) -> RestartTimes:
    """One conversation of `turns_before` turns, the server stopped and started again on its
    data directory, then turn `turns_before + 1` (restarted), the same turn answered again
    (`regenerate`: the same prompt, its state in memory), and lastly the same history as one
    message to a server on a fresh data directory (read whole)."""
    kept = fresh_data_dir(root, "restart")
    history: list[ChatTurn] = []
    server = start(kept)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            credentials = await new_user(http)
            token = await log_in(http, credentials)
            conversation = await new_conversation(http, token)
        socket = await connect(server.ws_url, token, conversation)
        for turn in range(turns_before):
            history.append(ChatTurn("user", user_message(0, turn)))
            history.append(
                ChatTurn("assistant", (await ask(socket, history[-1].content, tokens)).text)
            )
        await socket.close()
    finally:
        server.stop()

    server = start(kept)
    try:
        await run_websocket(server, ["Hi!"], 4)  # Warm-up, on a conversation of its own
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            token = await log_in(http, credentials)
        socket = await connect(server.ws_url, token, conversation)
        history.append(ChatTurn("user", user_message(0, turns_before)))
        restarted = await ask(socket, history[-1].content, tokens)
        in_memory = await regenerate(socket, tokens)
        await socket.close()
    finally:
        server.stop()

    server = start(fresh_data_dir(root, "reread"))
    try:
        await run_websocket(server, ["Hi!"], 4)  # Warm-up
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
            socket = await open_socket(server.ws_url, await new_user_token(http), http)
        reread = await ask(socket, flattened(history), tokens)
        await socket.close()
    finally:
        server.stop()
    result = RestartTimes(
        turns_before=turns_before,
        restarted_ms=restarted.timing.ttft_s * 1000,
        in_memory_ms=in_memory.timing.ttft_s * 1000,
        reread_ms=reread.timing.ttft_s * 1000,
        prompt_tokens=restarted.prompt_tokens,
        restarted_cached_tokens=restarted.cached_tokens,
        in_memory_cached_tokens=in_memory.cached_tokens,
        reread_prompt_tokens=reread.prompt_tokens,
        reread_cached_tokens=reread.cached_tokens,
    )
    print(
        f"restart: {result.prompt_tokens} prompt tokens; TTFT restarted {result.restarted_ms:.0f}"
        f" ms, in memory {result.in_memory_ms:.0f} ms, re-read ({result.reread_prompt_tokens}"
        f" tokens) {result.reread_ms:.0f} ms",
        flush=True,
    )
    return result


def restart_table(result: RestartTimes) -> list[str]:
    return [
        "| next turn of a conversation | TTFT (ms) | prompt tokens | of them kept |",
        "|---|---|---|---|",
        f"| after a restart | {result.restarted_ms:,.0f} | {result.prompt_tokens:,} | "
        f"{result.restarted_cached_tokens:,} |",
        f"| state in memory | {result.in_memory_ms:,.0f} | {result.prompt_tokens:,} | "
        f"{result.in_memory_cached_tokens:,} |",
        f"| read whole (fresh data directory) | {result.reread_ms:,.0f} | "
        f"{result.reread_prompt_tokens:,} | {result.reread_cached_tokens:,} |",
    ]
