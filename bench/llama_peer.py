"""The peer: llama.cpp through llama-cpp-python on the same GGUF file with the same threads.

In-process it is llama-cpp-python's `Llama` object, one request at a time behind a lock (which is
how its server serves); over the network it is its own server (`python -m llama_cpp.server`)
streaming OpenAI chat completions. Every answer is `tokens` long: end of sequence is banned
through a logit bias, as Parley's benchmark ignores it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from tests.conftest import free_port, stop_process

from bench.measure import RequestTiming


def _no_end_bias(llama: Any) -> dict[int, float]:
    return {int(llama.token_eos()): -1e9}


async def run_llama_in_process(
    llama: Any, worker: ThreadPoolExecutor, questions: list[str], tokens: int
) -> list[RequestTiming]:
    """Every question sent at once; `worker`, a pool of one thread kept for the peer's life,
    serves them one after another. One thread, not several: llama.cpp's OpenMP keeps a team of
    spinning workers per calling thread, and with several callers their idle teams took the
    cores from the busy one (8 questions through asyncio.to_thread: 30 tokens/s against 72-84
    for 1, measured on machine D)."""

    def generate(timing: RequestTiming, question: str) -> None:
        stream = llama.create_chat_completion(
            [{"role": "user", "content": question}],
            max_tokens=tokens,
            temperature=0.0,
            stream=True,
            logit_bias=_no_end_bias(llama),
        )
        for chunk in stream:
            if chunk["choices"][0]["delta"].get("content"):
                timing.arrived(1)
        # A chunk may carry several tokens (a character cut across them): count them all.
        timing.completion_tokens = tokens

    running = asyncio.get_running_loop()

    async def one(question: str) -> RequestTiming:
        timing = RequestTiming()
        await running.run_in_executor(worker, generate, timing, question)
        return timing

    return list(await asyncio.gather(*(one(q) for q in questions)))


def load_llama(gguf: Path, threads: int, context_tokens: int = 2048) -> Any:
    from llama_cpp import Llama

    return Llama(
        model_path=str(gguf),
        n_ctx=context_tokens,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )


class LlamaServer:
    """`python -m llama_cpp.server` on 127.0.0.1, on the GGUF file."""

    def __init__(
        self, gguf: Path, threads: int, log_path: Path, context_tokens: int = 2048
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_threads",
            str(threads),
            "--n_threads_batch",
            str(threads),
            "--n_ctx",
            str(context_tokens),
            # By default a new request cuts off the one being answered; the peer's clients queue.
            "--interrupt_requests",
            "False",
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120) -> LlamaServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ)
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited; see {self.log_path}")
            try:
                if httpx.get(f"{self.base_url}/v1/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not start within {timeout_s} s")

    def stop(self) -> None:
        import signal

        stop_process(self.process, signal.SIGTERM, timeout_s=30)


async def run_llama_server(
    server: LlamaServer, questions: list[str], tokens: int, eos_token: int
) -> list[RequestTiming]:
    """N streaming chat completions sent at once to llama-cpp-python's server."""

    async def one(http: httpx.AsyncClient, question: str) -> RequestTiming:
        timing, _ = await stream_llama_chat(
            http, [{"role": "user", "content": question}], tokens, eos_token
        )
        return timing

    limits = httpx.Limits(max_connections=len(questions) + 1)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=3600, limits=limits) as http:
        return list(await asyncio.gather(*(one(http, q) for q in questions)))


async def stream_llama_chat(
    http: httpx.AsyncClient, messages: list[dict[str, str]], tokens: int, eos_token: int
) -> tuple[RequestTiming, str]:
    """One streaming chat completion from llama-cpp-python's server: its timing and text.

    Its server has no `cache_prompt` field: its one `Llama` always reads only what follows the
    longest common start with the prompt it read last, which is what `cache_prompt` does in
    llama.cpp's own server with one slot."""
    body = {
        "messages": messages,
        "max_tokens": tokens,
        "temperature": 0.0,
        "stream": True,
        "logit_bias": {str(eos_token): -1e9},
    }
    timing = RequestTiming()
    text: list[str] = []
    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            content = json.loads(line[6:])["choices"][0]["delta"].get("content")
            if content:
                timing.arrived(0)
                text.append(content)
    timing.completion_tokens = tokens
    return timing, "".join(text)
