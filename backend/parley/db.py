"""Database access: SQLite (embedded, the default) or PostgreSQL, migrations at start, no
blocking on the event loop.

Writes go through one thread and one write transaction at a time per database: on SQLite they
open with `BEGIN IMMEDIATE`, so concurrent writers queue on the busy timeout instead of
failing with "database is locked" half-way through a transaction; on PostgreSQL they take one
transaction-scoped advisory lock, so the store's read-then-write transactions (a username
taken, the last administrator, a conversation's seqs) stay correct with several instances on
one database, as they are with several processes on one SQLite file. Reads run on a pool of
their own (one thread per connection they may hold), with ordinary transactions beside the
writer, so CPU-heavy work elsewhere (parley/workers.py) never queues them. Migrations run as a write
transaction, so instances starting at once take turns to upgrade.
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
from psycopg.abc import Buffer
from psycopg.types.string import StrBinaryDumper, StrDumperUnknown
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import Session

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
POSTGRES_DRIVER = "postgresql+psycopg"
# What people write for PostgreSQL (and psycopg 3 spelled out), mapped to POSTGRES_DRIVER.
_POSTGRES_SCHEMES = ("postgresql", "postgres", POSTGRES_DRIVER)
_SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
# The advisory lock key of write transactions ("parley" in ASCII): one per database.
WRITE_LOCK_KEY = 0x7061726C6579
# How long a PostgreSQL connection attempt may take before start-up gives up.
CONNECT_TIMEOUT_S = 10
# Connections the writer engine keeps: its thread, and start-up or a CLI command beside it.
_WRITER_POOL_SIZE = 2


class DatabaseError(Exception):
    """A database Parley cannot use; the message is one line for the operator, without the
    password."""


def database_url(raw: str | URL) -> URL:
    """A SQLAlchemy URL from one written as people write it: `postgresql://` and
    `postgres://` get psycopg 3; raises DatabaseError for anything but SQLite or PostgreSQL."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise DatabaseError(
            "PARLEY_DATABASE_URL is not a database URL: write "
            "postgresql://user:password@host:port/database or sqlite:///path/to/file.db"
        ) from None
    if url.drivername in _POSTGRES_SCHEMES:
        return url.set(drivername=POSTGRES_DRIVER)
    if url.drivername in _SQLITE_SCHEMES:
        return url
    raise DatabaseError(
        f"PARLEY_DATABASE_URL names {url.drivername!r}: Parley stores its data in SQLite "
        "(sqlite:///path) or PostgreSQL (postgresql://user:password@host:port/database)"
    )


def describe(url: URL) -> str:
    """Which database a URL names, for messages: never its password."""
    if url.get_backend_name() == "sqlite":
        return f"the SQLite database {url.database}"
    name = url.database or "(default)"
    return f"the PostgreSQL database {name} at {url.host or 'localhost'}:{url.port or 5432}"


def make_engine(url: URL, *, immediate: bool, pool_size: int) -> Engine:
    """An engine whose transactions are write transactions (see the module) if `immediate`."""
    if url.get_backend_name() == "postgresql":
        return _postgres_engine(url, immediate=immediate, pool_size=pool_size)
    return _sqlite_engine(url, immediate=immediate)


class _NulFreeText(StrDumperUnknown):
    """PostgreSQL's text cannot hold NUL, which SQLite's can and users may paste: U+FFFD is
    stored in its place rather than the write failing."""

    def dump(self, obj: str) -> Buffer | None:
        return super().dump(obj.replace("\x00", "\ufffd"))


class _NulFreeBinaryText(StrBinaryDumper):
    def dump(self, obj: str) -> Buffer | None:
        return super().dump(obj.replace("\x00", "\ufffd"))


def _postgres_engine(url: URL, *, immediate: bool, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        # Every thread that may hold a connection at once gets one; more wait pool_timeout.
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=30,
        # A connection the server or a proxy dropped while idle is replaced, not handed out.
        pool_pre_ping=True,
        # Under the idle timeouts of common proxies and load balancers.
        pool_recycle=1800,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "parley"},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        for dumper in (_NulFreeText, _NulFreeBinaryText):
            dbapi_connection.adapters.register_dumper(str, dumper)

    if immediate:

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")

    return engine


def _sqlite_engine(url: URL, *, immediate: bool) -> Engine:
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
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def alembic_config(url: URL | str) -> Config:
    """Alembic's configuration for the migrations on the database at `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    plain = database_url(url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", plain.replace("%", "%%"))
    return config


def upgrade_schema(url: URL | str, revision: str = "head") -> None:
    """Bring the schema to `revision` (the newest by default); never drops data."""
    command.upgrade(alembic_config(url), revision)


class Database:
    def __init__(self, url: str | URL, *, pool_size: int = 10) -> None:
        """`url` as people write it (see `database_url`); `pool_size`: the PostgreSQL
        connections reads may hold at once (the writer holds two more)."""
        self.url = database_url(url)
        self.dialect = self.url.get_backend_name()
        if self.dialect == "sqlite" and self.url.database not in (None, "", ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        self._read_engine = make_engine(self.url, immediate=False, pool_size=pool_size)
        self._write_engine = make_engine(self.url, immediate=True, pool_size=_WRITER_POOL_SIZE)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-db-writer")
        self._readers = ThreadPoolExecutor(
            max_workers=pool_size, thread_name_prefix="parley-db-reader"
        )

    def migrate(self) -> None:
        """Upgrade the schema; raises DatabaseError if the database cannot be reached."""
        try:
            upgrade_schema(self.url)
        except OperationalError as exc:
            raise DatabaseError(self._unreachable(exc)) from None

    def _unreachable(self, exc: OperationalError) -> str:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no connection"
        if self.url.password:
            reason = reason.replace(str(self.url.password), "***")
        return f"cannot use {describe(self.url)}: {reason}"

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
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self.run_read, work)

    def integrity_ok(self) -> bool:
        """SQLite's check of its file (SQLite only)."""
        with self._read_engine.connect() as connection:
            return connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self._read_engine.dispose()
        self._write_engine.dispose()
