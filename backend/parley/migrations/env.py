"""Alembic environment: migrations run from `parley.db.upgrade_schema` at start-up."""

from alembic import context
from sqlmodel import SQLModel

import parley.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from parley.db import database_url, make_engine
from parley.migrations.schema import schema_object_included

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    raw_url = context.config.get_main_option("sqlalchemy.url")
    assert raw_url is not None
    url = database_url(raw_url)
    if context.is_offline_mode():
        context.configure(
            url=url,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_name=schema_object_included,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    # Every transaction of this engine is a write transaction (BEGIN IMMEDIATE on SQLite, the
    # write lock on PostgreSQL), so the whole migration, the version check included, holds the
    # write lock: two processes migrating a fresh database at once take turns instead of both
    # creating the tables.
    engine = make_engine(url, immediate=True, pool_size=1)
    with engine.connect() as connection:
        # SQLite alters tables by copying them; batch mode does that safely.
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            transactional_ddl=True,
            include_name=schema_object_included,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
