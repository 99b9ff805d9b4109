"""The database as the server uses it, on SQLite and (with --db postgresql) PostgreSQL:
concurrent writers, pragmas, migrations up and down, start-up errors."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from parley.accounts.service import SecretMismatch, claim_secret
from parley.db import Database, DatabaseError, alembic_config, database_url
from parley.migrations.schema import schema_object_included
from parley.models import Conversation, SecretFingerprint, User
from parley.security import secret_fingerprint
from tests.conftest import DatabaseFactory
from tests.postgres import PASSWORD, PostgresCluster


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


@pytest.mark.sqlite_only
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

    with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
        db.run_write(work)


def test_two_databases_on_one_file_write_concurrently_without_locking(db_url: str) -> None:
    # Two instances on one database: their read-then-write transactions take turns.
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
        assert first.dialect != "sqlite" or first.integrity_ok()
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
    engine = create_engine(database_url(db_url))
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
        assert database.dialect != "sqlite" or database.integrity_ok()
    finally:
        database.close()


MIGRATE = (
    "import sys; from parley.db import Database; d = Database(sys.argv[1]); d.migrate(); d.close()"
)


def test_processes_migrating_a_fresh_database_at_once_all_succeed(
    database_factory: DatabaseFactory,
) -> None:
    # A server and `parley user create` (or two servers) starting together on a new database.
    for _attempt in range(3):
        url = database_factory()
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
            assert database.dialect != "sqlite" or database.integrity_ok()
            assert database.run_read(lambda session: list(session.exec(select(User)).all())) == []
        finally:
            database.close()


def test_migrations_go_down_to_nothing_and_up_again(db: Database, db_url: str) -> None:
    db.run_write(lambda session: session.add(add_user("before")))
    command.downgrade(alembic_config(db_url), "base")
    tables = db.run_read(lambda session: set(inspect(session.connection()).get_table_names()))
    assert tables <= {"alembic_version"}
    db.migrate()
    assert db.run_read(lambda session: list(session.exec(select(User)).all())) == []


@pytest.mark.parametrize(
    ("written", "driver"),
    [
        ("postgresql://u:pw@db.example:5433/parley", "postgresql+psycopg"),
        ("postgres://u:pw@db.example/parley", "postgresql+psycopg"),
        ("postgresql+psycopg://u:pw@db.example/parley", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_urls_as_people_write_them(written: str, driver: str) -> None:
    assert database_url(written).drivername == driver


@pytest.mark.parametrize(
    "written", ["not a url", "mysql://u:hunter2@h/db", "postgresql+psycopg2://u:hunter2@h/db"]
)
def test_a_url_of_no_database_parley_uses_is_refused_without_its_password(written: str) -> None:
    with pytest.raises(DatabaseError, match="PARLEY_DATABASE_URL") as caught:
        Database(written)
    assert "hunter2" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_unreachable_database_is_one_line_naming_the_host_not_the_password() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    database = Database(f"postgresql://parley:hunter2@127.0.0.1:{port}/chat")
    try:
        with pytest.raises(DatabaseError) as caught:
            database.migrate()
    finally:
        database.close()
    message = str(caught.value)
    assert f"the PostgreSQL database chat at 127.0.0.1:{port}" in message
    assert "hunter2" not in message and "\n" not in message


def test_a_wrong_password_is_one_line_without_it(postgres: PostgresCluster) -> None:
    url = postgres.create_database()
    wrong = url.replace(quote(PASSWORD, safe=""), "hunter2-wrong")
    database = Database(wrong)
    try:
        with pytest.raises(DatabaseError, match="password authentication failed") as caught:
            database.migrate()
    finally:
        database.close()
    assert "hunter2" not in str(caught.value) and "\n" not in str(caught.value)


def test_instances_of_one_database_must_share_the_secret(db: Database) -> None:
    secret, other = "a" * 40, "b" * 40
    claim_secret(db, secret)
    claim_secret(db, secret)  # a restart, or a second instance with the same secret
    with pytest.raises(SecretMismatch, match="PARLEY_SECRET_KEY"):
        claim_secret(db, other)
    stored = db.run_read(lambda session: list(session.exec(select(SecretFingerprint)).all()))
    assert [row.fingerprint for row in stored] == [secret_fingerprint(secret)]
    assert secret not in stored[0].fingerprint


def test_the_advisory_write_lock_serialises_writers_on_postgresql(
    postgres: PostgresCluster,
) -> None:
    # The lock BEGIN IMMEDIATE is on SQLite: a second write transaction waits for the first.
    first = Database(postgres.create_database())
    first.migrate()
    second = Database(first.url)
    order: list[str] = []
    inside = threading.Event()

    def slow(session: Session) -> None:
        session.connection()  # the transaction begins, and takes the lock, on first use
        order.append("first in")
        inside.set()
        session.exec(select(func.pg_sleep(0.5))).one()
        order.append("first out")

    def quick(session: Session) -> None:
        session.add(add_user("second"))
        session.flush()  # the transaction's first statement: it waits for the lock here
        order.append("second")

    try:
        with ThreadPoolExecutor(2) as pool:
            running = pool.submit(first.run_write, slow)
            assert inside.wait(10)
            pool.submit(second.run_write, quick).result(timeout=30)
            running.result(timeout=30)
        assert order == ["first in", "first out", "second"]
    finally:
        first.close()
        second.close()
