"""A real Parley on the embedded SmolLM2 (llama.cpp) for the client libraries' checks.

The libraries live in a virtualenv of their own (scripts/install.sh's ensure_clients), which
runs this suite; the server is Parley's own `parley` command, from the virtualenv on PATH.
PARLEY_CLIENTS_SERVER=http://host:port runs the suite against a server already running there
instead (its registration open; its first model is the one asked)."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.helpers import bearer, new_account

# litellm fetches its model price list from the internet on import unless told otherwise.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@dataclass(frozen=True, slots=True)
class Parley:
    """What a client library needs to reach the server: `/v1`'s address, a key, a model."""

    origin: str
    key: str
    model: str

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"


class ParleyCommand(ServerProcess):
    """The server from Parley's virtualenv: this one has the client libraries, not Parley."""

    command = (shutil.which("parley") or "parley",)


def wait_for_the_model(origin: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while httpx.get(f"{origin}/api/v1/health").json()["status"] == "loading":
        assert time.monotonic() < deadline, "the model did not load"
        time.sleep(0.5)


def connect(origin: str) -> Parley:
    """A new user's API key on the server, and its first model."""
    with httpx.Client(base_url=origin, timeout=30) as http:
        account = new_account(http, "clients")
        created = http.post("/api/keys", json={"name": "clients"}, headers=account.headers)
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        models = http.get("/v1/models", headers=bearer(key)).json()["data"]
    return Parley(origin, key, models[0]["id"])


@pytest.fixture(scope="session")
def parley(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parley]:
    """One server on the real model for the whole suite."""
    running = os.environ.get("PARLEY_CLIENTS_SERVER")
    if running:
        wait_for_the_model(running, timeout_s=300)
        yield connect(running.rstrip("/"))
        return
    data_dir = tmp_path_factory.mktemp("clients")
    # Pinned to llama.cpp, which is then not gated (the gate takes minutes on a busy CPU), and
    # serving embeddings too: mean-pooled, test-grade ones.
    models_file = data_dir / "models.json"
    smollm2 = {"id": "smollm2", "path": "smollm2", "engine": "llamacpp", "embeddings": "mean"}
    models_file.write_text(json.dumps([smollm2]))
    server = ParleyCommand(
        data_dir,
        models_file=str(models_file),
        # An answer a library asks for without a length limit stays short.
        max_new_tokens="96",
        # The default reserves 4 GiB of KV cache; these checks need a sliver of it.
        kv_cache_gib="0.5",
        login_failures_per_address="100000",
    ).start(timeout_s=300)
    try:
        wait_for_the_model(server.base_url, timeout_s=300)
        yield connect(server.base_url)
    finally:
        server.stop()
