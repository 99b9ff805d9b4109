"""Fixtures of the operations tests: a server that logs JSON at info, and nginx in front."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ServerProcess
from tests.ops.helpers import Nginx


@pytest.fixture(scope="session")
def ops_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A scripted server whose log (JSON lines at info) the tests read."""
    server = ServerProcess(
        tmp_path_factory.mktemp("ops"),
        model="scripted",
        scripted_token_delay_s="0.02",
        status_interval_s="0.5",
        log_level="info",
        log_json="true",
    ).start()
    yield server
    server.stop()


NginxFactory = Callable[[ServerProcess, int], Nginx]


@pytest.fixture
def nginx_factory(tmp_path: Path) -> Iterator[NginxFactory]:
    """nginx with deploy/nginx/parley.conf in front of a server, stopped at the test's end."""
    started: list[Nginx] = []

    def start(upstream: ServerProcess, read_timeout_s: int) -> Nginx:
        proxy = Nginx(tmp_path / f"nginx{len(started)}", [upstream], read_timeout_s)
        started.append(proxy)
        return proxy.start()

    yield start
    for proxy in started:
        proxy.stop()
