"""Schema migrations, run with Alembic from code (no alembic.ini to keep in step).

Whether the schema is current is read without Alembic: importing it (with Mako and Pygments)
costs a command such as ``rsv360 payments check`` a quarter of a second, and it is needed only
when the schema is behind.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from bot.stores.database import Database

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = "actions:migrations"
VERSIONS = Path(__file__).resolve().parents[2] / "actions" / "migrations" / "versions"
REVISION = re.compile(r'^revision = "(\w+)"', re.MULTILINE)
DOWN_REVISION = re.compile(r'^down_revision = "(\w+)"', re.MULTILINE)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(database: Database) -> None:
    """Bring the schema to the newest revision (Alembic runs its own loop in a thread)."""
    from alembic import command

    await asyncio.to_thread(command.upgrade, alembic_config(database.url), "head")


def head_revision(versions: Path = VERSIONS) -> str:
    """The revision no other script builds on, from the scripts' ``revision`` lines."""
    revisions: set[str] = set()
    built_on: set[str] = set()
    for script in versions.glob("*.py"):
        source = script.read_text(encoding="utf-8")
        if found := REVISION.search(source):
            revisions.add(found.group(1))
        if down := DOWN_REVISION.search(source):
            built_on.add(down.group(1))
    heads = revisions - built_on
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


async def is_current(database: Database) -> bool:
    def current(connection: Connection) -> str | None:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    async with database.engine.connect() as connection:
        return await connection.run_sync(current) == head_revision()


async def ensure_current(database: Database) -> None:
    """The embedded SQLite file migrates itself; PostgreSQL must have been migrated with
    ``rsv360 db upgrade`` (so that two web workers never race to migrate it)."""
    if await is_current(database):
        return
    if database.is_sqlite:
        await upgrade(database)
    else:
        raise RuntimeError("the database schema is not current: run `rsv360 db upgrade`")
