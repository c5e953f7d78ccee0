"""Alembic environment: runs the migrations on the async engine the bot uses."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
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
        context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(context.config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(run)
    await engine.dispose()


asyncio.run(run_online())
