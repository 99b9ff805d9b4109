"""Chat clients on a real Parley server: each on a conversation of its own, over a WebSocket."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import websockets
from tests.conftest import ServerProcess
from websockets.asyncio.client import ClientConnection

from bench.measure import RequestTiming


def start_server(
    data_dir: Path, max_concurrent_runs: int, cpu_threads: int, engine: str, kv_cache_gib: float
) -> ServerProcess:
    """`parley serve` in a subprocess that answers every run to max_tokens (bench_ignore_eos),
    its default model SmolLM2 on `engine` ("auto": the server's own choice)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    models_file = data_dir / "bench-models.json"
    models_file.write_text(
        json.dumps([{"id": "smollm2", "path": "smollm2", "engine": engine}]), encoding="utf-8"
    )
    return ServerProcess(
        data_dir,
        max_concurrent_runs=str(max_concurrent_runs),
        bench_ignore_eos="1",
        cpu_threads=str(cpu_threads),
        # One user drives every client: the per-user caps on answers and sockets would refuse
        # most.
        max_active_per_user=str(max(max_concurrent_runs, 1024)),
        max_sockets_per_user=str(max(max_concurrent_runs, 1024)),
        models_file=str(models_file),
        kv_cache_gib=str(kv_cache_gib),
    ).start(timeout_s=300)


async def served_engine(server: ServerProcess) -> tuple[str, str | None]:
    """The engine and precision the server runs its default model on, and its note."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        token = await new_user_token(http)
        response = await http.get("/api/models", headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        listing = response.json()
    model = next(m for m in listing["models"] if m["id"] == listing["default"])
    return f"{model['engine']}/{model['dtype']}", model.get("engine_note")


async def new_user_token(http: httpx.AsyncClient) -> str:
    return await log_in(http, await new_user(http))


async def new_user(http: httpx.AsyncClient) -> dict[str, str]:
    """A new account's credentials."""
    credentials = {"username": f"bench{uuid.uuid4().hex[:10]}", "password": "benchmark-password"}
    (await http.post("/api/auth/register", json=credentials)).raise_for_status()
    return credentials


async def log_in(http: httpx.AsyncClient, credentials: dict[str, str]) -> str:
    response = await http.post("/api/auth/login", json=credentials)
    response.raise_for_status()
    return str(response.json()["access_token"])


async def open_socket(ws_url: str, token: str, http: httpx.AsyncClient) -> ClientConnection:
    """A socket on a new conversation, authenticated and past its `ready` frame."""
    return await connect(ws_url, token, await new_conversation(http, token))


async def new_conversation(http: httpx.AsyncClient, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    response = await http.post("/api/conversations", json={}, headers=headers)
    response.raise_for_status()
    return str(response.json()["id"])


async def connect(ws_url: str, token: str, conversation_id: str) -> ClientConnection:
    """A socket on an existing conversation, authenticated and past its `ready` frame."""
    connection = await websockets.connect(
        f"{ws_url}/ws/conversations/{conversation_id}", max_size=None
    )
    await connection.send(json.dumps({"type": "auth", "token": token}))
    ready = json.loads(await connection.recv())
    if ready.get("type") != "ready":
        raise RuntimeError(f"expected ready, got {ready}")
    return connection


@dataclass(slots=True)
class Answer:
    timing: RequestTiming
    text: str
    prompt_tokens: int
    # Of the prompt tokens, those the server did not read again (see docs/protocol.md).
    cached_tokens: int


async def ask(connection: ClientConnection, question: str, tokens: int) -> Answer:
    """One message sent on the socket's conversation, its answer streamed to the end."""
    return await _answer(
        connection, {"type": "send", "content": question, "client_id": str(uuid.uuid4())}, tokens
    )


async def regenerate(connection: ClientConnection, tokens: int) -> Answer:
    """The conversation's last answer answered again: the same prompt as the last turn's."""
    return await _answer(connection, {"type": "regenerate"}, tokens)


async def _answer(connection: ClientConnection, frame: dict[str, Any], tokens: int) -> Answer:
    timing = RequestTiming()
    text: list[str] = []
    await connection.send(
        json.dumps({**frame, "options": {"max_tokens": tokens, "temperature": 0.0}})
    )
    while True:
        event = json.loads(await connection.recv())
        if event["type"] in ("chunk", "thinking"):
            timing.arrived(0)  # The frame says no token count; `end` does.
            if event["type"] == "chunk":
                text.append(event["content"])
        elif event["type"] == "end":
            usage = event["usage"]
            timing.completion_tokens = int(usage["completion_tokens"])
            return Answer(
                timing, "".join(text), int(usage["prompt_tokens"]), int(usage["cached_tokens"])
            )
        elif event["type"] == "error":
            raise RuntimeError(f"the run failed: {event}")


async def run_websocket(
    server: ServerProcess, prompts: list[str], tokens: int
) -> list[RequestTiming]:
    """Open every socket first, then send every question at the same moment."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        token = await new_user_token(http)
        connections = await asyncio.gather(
            *(open_socket(server.ws_url, token, http) for _ in prompts)
        )
    try:
        answers = await asyncio.gather(
            *(ask(c, q, tokens) for c, q in zip(connections, prompts, strict=True))
        )
        return [answer.timing for answer in answers]
    finally:
        await asyncio.gather(*(c.close() for c in connections))


# What a server works out once per machine and keeps in its data directory: the quality gate's
# verdicts and the weights it converted. Every fresh data directory links to `root`'s, so the
# gate runs once and no server starts with anything of another's conversations.
MACHINE_CACHES = ("quality", "models")


def fresh_data_dir(root: Path, name: str) -> Path:
    """`root/name`, emptied, with links to `root`'s machine caches."""
    folder = root / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for cache in MACHINE_CACHES:
        (root / cache).mkdir(exist_ok=True)
        (folder / cache).symlink_to((root / cache).resolve(), target_is_directory=True)
    return folder
