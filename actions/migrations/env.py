"""Alembic environment: runs the migrations on the async engine the bot uses.

An empty database asked for the newest revision gets the tables the models describe at once
and is stamped at the head (Alembic's recipe for building a database from scratch) rather than
running every migration: the same schema (``tests/bot/stores/test_migrations.py`` holds the
migrations and the models equal), in a fraction of the time, for a first start and for tests."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

# Imported for their side effect: each registers its tables on the metadata.
import actions.alerts.tables
import actions.booking.tables
import actions.experiments.tables
import actions.forecasts.tables
import actions.handoff.tables
import actions.lifecycle.tables
import actions.payments.tables
import actions.privacy.tables
import actions.staff.tables  # noqa: F401
from actions.tables import Base


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if _from_nothing_to_head(connection):
            Base.metadata.create_all(connection)
            context.get_context().stamp(context.script, "head")
        else:
            context.run_migrations()


def _from_nothing_to_head(connection: Connection) -> bool:
    wanted = context.get_revision_argument()
    return wanted == context.script.get_current_head() and not inspect(connection).get_table_names()


async def run_online() -> None:
    engine = create_async_engine(context.config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(run)
        await connection.commit()  # SQLite's driver leaves the stamp of a new schema open
    await engine.dispose()


asyncio.run(run_online())
