"""Database access: SQLite tuned for a server, migrations at start, no blocking on the event loop.

Writes go through one thread and open with `BEGIN IMMEDIATE`, so concurrent writers queue on
the busy timeout instead of failing with "database is locked" half-way through a transaction.
Reads run on the default thread pool with ordinary deferred transactions (WAL lets them run
beside a writer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlmodel import Session

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, immediate: bool) -> Engine:
    if not _is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, below, issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def upgrade_schema(url: str) -> None:
    """Bring the schema to the newest migration; never drops data."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        if _is_sqlite(url) and url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self._read_engine = make_engine(url, immediate=False)
        self._write_engine = make_engine(url, immediate=True)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-db-writer")

    def migrate(self) -> None:
        upgrade_schema(self.url)

    def read_session(self) -> Session:
        return Session(self._read_engine, expire_on_commit=False)

    def write_session(self) -> Session:
        return Session(self._write_engine, expire_on_commit=False)

    def run_write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction, committed at the end (blocking)."""
        with self.write_session() as session, session.begin():
            return work(session)

    def run_read(self, work: Callable[[Session], T]) -> T:
        with self.read_session() as session:
            return work(session)

    async def write(self, work: Callable[[Session], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, self.run_write, work)

    async def read(self, work: Callable[[Session], T]) -> T:
        return await asyncio.to_thread(self.run_read, work)

    def integrity_ok(self) -> bool:
        with self._read_engine.connect() as connection:
            return connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._read_engine.dispose()
        self._write_engine.dispose()
