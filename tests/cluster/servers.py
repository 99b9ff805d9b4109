"""Throwaway servers for several instances: redis-server, Parley instances sharing one Redis,
and `ClusterFront`, two of them behind nginx answering as one server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import ServerProcess, free_port, stop_process
from tests.ops.helpers import Nginx

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


class ClusterFront(ServerProcess):
    """Instances A and B on one database and one Redis, behind nginx with deploy/'s site file
    (round-robin, no sticky sessions): a test talks to nginx's address as to one server.
    Clients trust nginx's certificate through SSL_CERT_FILE, which httpx and websockets read."""

    proxied = True

    def __init__(self, data_dir: Path, database: dict[str, str], **settings: str) -> None:
        self.redis = RedisServer(data_dir / "redis").start()
        self.instances = tuple(
            start_instance(data_dir / "parley", self.redis, **database, **settings)
            for _ in range(2)
        )
        self.nginx = Nginx(data_dir / "nginx", self.instances, read_timeout_s=60).start()
        os.environ["SSL_CERT_FILE"] = str(self.nginx.certificate)
        first = self.instances[0]
        # What tests read of a server: nginx's address; the data (and secret) A and B share.
        self.data_dir, self.env, self.log_path = first.data_dir, first.env, first.log_path
        self.port = self.nginx.https_port
        self.base_url, self.ws_url = self.nginx.base_url, self.nginx.ws_url
        self.process = first.process

    def log(self) -> str:
        return "".join(instance.log() for instance in self.instances)

    def stop(self) -> None:
        self.nginx.stop()
        for instance in self.instances:
            instance.stop()
        self.redis.stop()
