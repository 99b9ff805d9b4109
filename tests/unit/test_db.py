"""SQLite as the server uses it: concurrent writers, pragmas, and migrations."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func
from sqlmodel import Session, SQLModel, select

from parley.db import Database
from parley.migrations.schema import schema_object_included
from parley.models import Conversation, User


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'parley.db'}"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    database.migrate()
    yield database
    database.close()


def add_user(name: str) -> User:
    return User(username=name, password_hash="x")


def adder(name: str) -> Callable[[Session], None]:
    """Write work that adds one user."""

    def work(session: Session) -> None:
        session.add(add_user(name))

    return work


def test_pragmas_are_wal_and_foreign_keys(db: Database) -> None:
    with db.read_session() as session:
        connection = session.connection()
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        busy_timeout_ms = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert busy_timeout_ms is not None and busy_timeout_ms >= 5000


def test_foreign_keys_are_enforced(db: Database) -> None:
    def work(session: Session) -> None:
        session.add(Conversation.model_validate({"owner_id": "no-such-user"}))

    with pytest.raises(Exception, match="FOREIGN KEY"):
        db.run_write(work)


def test_two_databases_on_one_file_write_concurrently_without_locking(db_url: str) -> None:
    first, second = Database(db_url), Database(db_url)
    first.migrate()
    errors: list[BaseException] = []
    threads_per_db, writes_per_thread = 8, 25
    start = threading.Barrier(threads_per_db * 2)

    def hammer(database: Database, worker: str) -> None:
        start.wait()
        try:
            for index in range(writes_per_thread):

                def work(session: Session, name: str = f"{worker}-{index}") -> None:
                    # Read then write in one transaction: the pattern that deadlocks
                    # ("database is locked") when transactions start deferred.
                    session.exec(select(func.count()).select_from(User)).one()
                    session.add(add_user(name))

                database.run_write(work)
                database.run_read(lambda session: session.exec(select(User)).first())
        except BaseException as exc:
            errors.append(exc)

    try:
        with ThreadPoolExecutor(threads_per_db * 2) as pool:
            for worker in range(threads_per_db):
                pool.submit(hammer, first, f"a{worker}")
                pool.submit(hammer, second, f"b{worker}")
        assert errors == []
        total = first.run_read(
            lambda session: session.exec(select(func.count()).select_from(User)).one()
        )
        assert total == threads_per_db * 2 * writes_per_thread
        assert first.integrity_ok()
    finally:
        first.close()
        second.close()


async def test_async_writes_from_two_databases_do_not_lock(db_url: str) -> None:
    first, second = Database(db_url), Database(db_url)
    first.migrate()
    try:
        await asyncio.gather(
            *(
                database.write(adder(f"{tag}{i}"))
                for i in range(40)
                for tag, database in (("x", first), ("y", second))
            )
        )
        count = await second.read(
            lambda session: session.exec(select(func.count()).select_from(User)).one()
        )
        assert count == 80
    finally:
        first.close()
        second.close()


def test_migrated_schema_matches_the_models(db: Database, db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "render_as_batch": True,
                    "include_name": schema_object_included,
                },
            )
            diff = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_migrate_on_an_existing_database_keeps_its_data(db: Database, db_url: str) -> None:
    db.run_write(lambda session: session.add(add_user("keeper")))
    db.close()
    again = Database(db_url)
    try:
        again.migrate()
        again.migrate()
        names = again.run_read(lambda session: list(session.exec(select(User.username)).all()))
        assert names == ["keeper"]
    finally:
        again.close()


def test_migrate_twice_on_a_fresh_database_is_harmless(db_url: str) -> None:
    database = Database(db_url)
    try:
        database.migrate()
        database.migrate()
        assert database.integrity_ok()
    finally:
        database.close()


MIGRATE = (
    "import sys; from parley.db import Database; d = Database(sys.argv[1]); d.migrate(); d.close()"
)


def test_processes_migrating_a_fresh_database_at_once_all_succeed(tmp_path: Path) -> None:
    # A server and `parley user create` (or two servers) starting together on a new data dir.
    for attempt in range(3):
        url = f"sqlite:///{tmp_path / f'fresh{attempt}.db'}"
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", MIGRATE, url], stderr=subprocess.PIPE, text=True
            )
            for _ in range(3)
        ]
        for process in processes:
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr
        database = Database(url)
        try:
            assert database.integrity_ok()
            assert database.run_read(lambda session: list(session.exec(select(User)).all())) == []
        finally:
            database.close()
