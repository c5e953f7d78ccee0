"""Schema migrations, run with Alembic from code (no alembic.ini to keep in step)."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from bot.stores.database import Database

SCRIPT_LOCATION = "actions:migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(database: Database) -> None:
    """Bring the schema to the newest revision (Alembic runs its own loop in a thread)."""
    await asyncio.to_thread(command.upgrade, alembic_config(database.url), "head")


async def is_current(database: Database) -> bool:
    head = ScriptDirectory.from_config(alembic_config(database.url)).get_current_head()

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with database.engine.connect() as connection:
        return await connection.run_sync(current) == head


async def ensure_current(database: Database) -> None:
    """The embedded SQLite file migrates itself; PostgreSQL must have been migrated with
    ``rsv360 db upgrade`` (so that two web workers never race to migrate it)."""
    if database.is_sqlite:
        await upgrade(database)
    elif not await is_current(database):
        raise RuntimeError("the database schema is not current: run `rsv360 db upgrade`")
