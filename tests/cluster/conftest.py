"""Two Parley instances on one database and one Redis, and a throwaway redis-server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cluster.servers import RedisServer, start_instance
from tests.conftest import ServerProcess, server_databases


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


@pytest.fixture(scope="module")
def shared_pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, database_kind: str
) -> Iterator[Pair]:
    """One pair for the tests of a module that leave both instances running and make users of
    their own: two server starts per module rather than per test."""
    root = tmp_path_factory.mktemp("pair")
    redis_server = RedisServer(root / "redis").start()
    database = server_databases(request, database_kind)
    started = [start_instance(root / "data", redis_server, **database) for _ in range(2)]
    yield Pair(started[0], started[1], redis_server)
    for server in started:
        server.stop()
    redis_server.stop()
