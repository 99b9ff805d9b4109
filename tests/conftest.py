"""Shared fixtures: real Parley servers (uvicorn subprocesses) on 127.0.0.1 over real SQLite,
or over a throwaway PostgreSQL with `--db postgresql` (tests/run.sh runs the suites whose
queries can differ between the two on each)."""

from __future__ import annotations

import hashlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from tests.postgres import PostgresCluster, postgres_bin_dir

REPO = Path(__file__).resolve().parents[1]
DATABASES = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=DATABASES,
        default="sqlite",
        help="the database of the tests' stores and servers (default: sqlite)",
    )
    parser.addoption(
        "--front",
        choices=("direct", "cluster"),
        default="direct",
        help="what the shared scripted server is: one process (default), or two instances on "
        "one database and one Redis behind nginx (tests/cluster/servers.py)",
    )
    parser.addoption(
        "--container",
        action="store_true",
        help="also run the container image's tests (tests/container/: builds the image with "
        "podman; the first build compiles llama.cpp for every CPU level, an hour on 2 cores)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skips = []
    if config.getoption("--db") != "sqlite":
        skips.append(("sqlite_only", "checks SQLite itself (run without --db postgresql)"))
    if config.getoption("--front") != "direct":
        skips.append(("direct_only", "checks the server's own socket (run without --front)"))
    if not config.getoption("--container"):
        skips.append(("podman", "builds and runs the container image (run with --container)"))
    for marker, reason in skips:
        for item in items:
            if marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def database_kind(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL server, started when a test first needs it."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.fail("PostgreSQL is not installed (tests/run.sh installs Debian's postgresql)")
    cluster = PostgresCluster(bin_dir).start()
    yield cluster
    cluster.stop()


DatabaseFactory = Callable[[], str]


@pytest.fixture
def database_factory(
    request: pytest.FixtureRequest, tmp_path: Path, database_kind: str
) -> DatabaseFactory:
    """New empty databases of the kind `--db` names, as PARLEY_DATABASE_URL takes them."""
    made = itertools.count()

    def new_database() -> str:
        if database_kind == "sqlite":
            return f"sqlite:///{tmp_path / f'parley{next(made)}.db'}"
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        return cluster.create_database()

    return new_database


@pytest.fixture
def db_url(database_factory: DatabaseFactory) -> str:
    """A new empty database of the kind `--db` names."""
    return database_factory()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(
    process: subprocess.Popen[bytes] | None, sig: signal.Signals, timeout_s: float
) -> None:
    """Ask a process to stop with `sig`; kill it if it has not within `timeout_s`."""
    if process is not None and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def mcp_http_server(script: Path, *flags: str) -> Iterator[str]:
    """An MCP server script (tests/tools/mcp_server.py) serving streamable HTTP on 127.0.0.1,
    its URL once it answers."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(script), "--port", str(port), *flags])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop_process(process, signal.SIGTERM, timeout_s=10)


class ServerProcess:
    """`parley serve` in a subprocess, with its own data directory and log file."""

    # Reached through a proxy (tests/cluster/servers.py's ClusterFront), which keeps the
    # headers meant for it (X-Accel-Buffering) to itself.
    proxied = False
    # How the server is started; tests/clients, whose libraries live in a virtualenv without
    # Parley, starts Parley's own `parley` command instead.
    command: tuple[str, ...] = (sys.executable, "-m", "parley")

    def __init__(self, data_dir: Path, **settings: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = data_dir / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "PARLEY_DATA_DIR": str(data_dir),
            "PARLEY_HOST": "127.0.0.1",
            "PARLEY_PORT": str(self.port),
            "PARLEY_LOG_LEVEL": "warning",
            # The lowest bcrypt cost: the tests make hundreds of accounts.
            "PARLEY_BCRYPT_ROUNDS": "4",
            "HF_HUB_OFFLINE": "1",
            **{f"PARLEY_{key.upper()}": value for key, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*self.command, "serve"], env=self.env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start in time:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM, timeout_s=30)

    def kill(self) -> None:
        """kill -9: no chance to save anything."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()


def server_databases(request: pytest.FixtureRequest, database_kind: str) -> dict[str, str]:
    """Settings that put a server on a new PostgreSQL database under `--db postgresql`;
    none for SQLite, whose file lies in the server's data directory."""
    if database_kind == "sqlite":
        return {}
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return {"database_url": cluster.create_database()}


@pytest.fixture(scope="session")
def scripted_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, database_kind: str
) -> Iterator[ServerProcess]:
    """One shared server on the scripted engine, for fast protocol tests; with `--front
    cluster`, two instances behind nginx that must answer exactly as one."""
    if request.config.getoption("--front") == "cluster":
        # Imported here: tests/cluster/ builds on this module.
        from tests.cluster.servers import ClusterFront

        front = ClusterFront(
            tmp_path_factory.mktemp("cluster"), server_databases(request, database_kind)
        )
        yield front
        front.stop()
        return
    server = ServerProcess(
        tmp_path_factory.mktemp("scripted"),
        **server_databases(request, database_kind),
        model="scripted",
        scripted_token_delay_s="0.02",
        status_interval_s="0.5",
        flush_interval_s="0.2",
        # Every test logs in from 127.0.0.1: the per-address spraying limit would soon block
        # them all. Its own tests start servers of their own.
        login_failures_per_address="100000",
    ).start()
    yield server
    server.stop()


# Converted weights and quality verdicts outlive a test session, so that each suite of
# tests/run.sh after the first (and every later run) starts the real model at once instead of
# converting it and running the quality gate again (minutes on 2 cores). Keyed by the GGUF and
# the libraries that convert and measure it; verdicts are keyed finer still (quality.py).
MODEL_CACHE = Path(
    os.environ.get("PARLEY_TEST_MODEL_CACHE", Path.home() / ".cache/parley/test-model-data")
)


def model_cache_dir() -> Path:
    from importlib import metadata

    from parley.engine.specs import embedded_smollm2_gguf

    gguf = embedded_smollm2_gguf()
    stat = gguf.stat()
    libraries = [metadata.version(name) for name in ("transformers", "torch", "llama_cpp_python")]
    key = f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{libraries}"
    return MODEL_CACHE / hashlib.sha256(key.encode()).hexdigest()[:16]


@pytest.fixture(scope="session")
def model_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory for every real-model server, its converted weights (`models/`) and
    quality verdicts (`quality/`) in MODEL_CACHE: a conversion is written aside and renamed into
    place, so sessions at once share them safely."""
    data_dir = tmp_path_factory.mktemp("model-data")
    cache = model_cache_dir()
    for name in ("models", "quality"):
        (cache / name).mkdir(parents=True, exist_ok=True)
        (data_dir / name).symlink_to(cache / name, target_is_directory=True)
    return data_dir


class ServerFactory(Protocol):
    """What `server_factory` hands a test: ServerProcess's constructor, data_dir optional."""

    def __call__(self, data_dir: Path | None = None, **settings: str) -> ServerProcess: ...


@pytest.fixture
def server_factory(
    request: pytest.FixtureRequest, tmp_path: Path, database_kind: str
) -> Iterator[ServerFactory]:
    """Servers of a test's own, stopped at its end. Under `--db postgresql` each data
    directory gets a database of its own, so a server started again on it finds its data."""
    started: list[ServerProcess] = []
    databases: dict[Path, dict[str, str]] = {}

    class Factory(ServerProcess):
        def __init__(self, data_dir: Path | None = None, **settings: str) -> None:
            data_dir = data_dir or tmp_path / f"data{len(started)}"
            if data_dir not in databases:
                databases[data_dir] = server_databases(request, database_kind)
            super().__init__(data_dir, **{**databases[data_dir], **settings})
            started.append(self)

    yield Factory
    for server in started:
        server.stop()


@pytest.fixture
def client(scripted_server: ServerProcess) -> Iterator[httpx.Client]:
    """An HTTP client on the shared scripted server."""
    with httpx.Client(base_url=scripted_server.base_url, timeout=30) as http:
        yield http
