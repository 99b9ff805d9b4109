"""A throwaway PostgreSQL cluster for the tests: `initdb` in a temporary folder, a server on
127.0.0.1 and a free port, stopped at the end.

PostgreSQL refuses to run as root; as root the cluster belongs to the `postgres` account the
Debian package makes (or `parley-postgres`, made here, where there is none). Waits are bounded.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import psycopg

SUPERUSER = "parley"
# A password that needs escaping in a URL, so the tests show such URLs work.
PASSWORD = "s3cret p@ss/word%"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
_FALLBACK_ACCOUNT = "parley-postgres"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bin_dir() -> Path | None:
    """The newest installed server's binaries (Debian keeps them off PATH), or None."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _account() -> str | None:
    """The account the server runs as, when this process is root (None: as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", _FALLBACK_ACCOUNT):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            _FALLBACK_ACCOUNT,
        ],
        check=True,
        timeout=30,
    )
    return _FALLBACK_ACCOUNT


class PostgresCluster:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.account = _account()
        self.root = Path(tempfile.mkdtemp(prefix="parley-pg-"))
        self.data_dir = self.root / "data"
        self.log_path = self.root / "server.log"
        self.port = _free_port()
        self._names = itertools.count()

    def _run(self, *args: str, timeout_s: float) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.account is not None:
            command = ["runuser", "-u", self.account, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stderr}\n{self.log()}")

    def start(self) -> PostgresCluster:
        password_file = self.root / "password"
        password_file.write_text(PASSWORD + "\n")
        if self.account is not None:
            entry = pwd.getpwnam(self.account)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            os.chown(password_file, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--pwfile",
            str(password_file),
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            timeout_s=120,
        )
        # Throwaway data: durability off, so the tests do not wait on the disk.
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c max_connections=300 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            timeout_s=START_TIMEOUT_S + 10,
        )
        return self

    def url(self, database: str, *, password: str = PASSWORD) -> str:
        """The URL of one of the cluster's databases, as people write it."""
        credentials = f"{SUPERUSER}:{quote(password, safe='')}"
        return f"postgresql://{credentials}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "parley") -> str:
        """A new empty database; its URL."""
        name = f"{prefix}_{next(self._names)}"
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=SUPERUSER,
            password=PASSWORD,
            dbname="postgres",
            autocommit=True,
            connect_timeout=10,
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        try:
            self._run(
                "pg_ctl",
                "stop",
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "-t",
                str(STOP_TIMEOUT_S),
                timeout_s=STOP_TIMEOUT_S + 10,
            )
        except (RuntimeError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", timeout_s=30)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
