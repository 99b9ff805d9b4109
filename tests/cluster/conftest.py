"""Two Parley instances on one database and one Redis, and a throwaway redis-server."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.conftest import ServerProcess, free_port, server_databases, stop_process

# Short, so a killed instance's runs are interrupted within seconds.
LEASE_S = 1.5


class RedisServer:
    """redis-server on a free port of 127.0.0.1, its files in a temporary directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed here (tests/run.sh installs it)")
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout_s
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start in time")

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True)

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM, timeout_s=10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@dataclass
class Pair:
    a: ServerProcess
    b: ServerProcess
    redis: RedisServer


def start_instance(data_dir: Path, redis_server: RedisServer, **settings: str) -> ServerProcess:
    return ServerProcess(
        data_dir,
        model="scripted",
        redis_url=redis_server.url,
        run_lease_s=str(LEASE_S),
        scripted_token_delay_s="0.02",
        status_interval_s="0.5",
        flush_interval_s="0.2",
        **{"login_failures_per_address": "100000", **settings},
    ).start()


PairFactory = Callable[..., Pair]


@pytest.fixture
def pair_factory(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer, database_kind: str
) -> Iterator[PairFactory]:
    """Starts instances A and B sharing one database (a SQLite file in WAL mode, or PostgreSQL
    under `--db postgresql`) and one Redis, both with the settings given. One data directory,
    so one secret key: A makes it, B finds it."""
    started: list[ServerProcess] = []

    def start(**settings: str) -> Pair:
        data_dir = tmp_path / "data"
        database = server_databases(request, database_kind)
        for _ in range(2):
            started.append(start_instance(data_dir, redis_server, **database, **settings))
        return Pair(started[-2], started[-1], redis_server)

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def pair(pair_factory: PairFactory) -> Pair:
    return pair_factory()
