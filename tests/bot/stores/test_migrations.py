"""Whether the schema is current, read without Alembic, agrees with Alembic; the migrations
and the models describe the same schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

import tests.support.databases  # noqa: F401  (every capability's tables on the metadata)
from actions.tables import Base
from bot.stores import migrations
from bot.stores.database import Database


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    scripts = ScriptDirectory.from_config(migrations.alembic_config("sqlite://"))
    assert migrations.head_revision() == scripts.get_current_head()


def test_scripts_with_two_heads_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')
    with pytest.raises(RuntimeError, match=r"2 heads: \['b', 'c'\]"):
        migrations.head_revision(tmp_path)


async def test_an_empty_or_older_schema_is_not_current(database: Database) -> None:
    assert await migrations.is_current(database)
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    assert not await migrations.is_current(database)
    async with database.engine.begin() as connection:
        await connection.execute(text("DROP TABLE alembic_version"))
    assert not await migrations.is_current(database)


async def schema_differences(database: Database) -> list[object]:
    """What the schema lacks or has beyond the models (Alembic's autogenerate comparison)."""

    def compare(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as connection:
        return await connection.run_sync(compare)


async def test_the_migrations_build_the_schema_the_models_describe(database: Database) -> None:
    """Run one by one from the first (as an existing install upgrades), the migrations end
    where the models are: so an empty database may get the models' tables at once."""
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(text("DROP TABLE alembic_version"))
    config = migrations.alembic_config(database.url)
    await asyncio.to_thread(command.upgrade, config, "0001")
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await schema_differences(database) == []
    assert await migrations.is_current(database)


async def test_an_empty_database_gets_the_newest_schema_at_once(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(text("DROP TABLE alembic_version"))
    await migrations.upgrade(database)
    assert await migrations.is_current(database)
    assert await schema_differences(database) == []
    async with database.engine.connect() as connection:
        stamped = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert stamped == migrations.head_revision()
