"""Whether the schema is current, read without Alembic, agrees with Alembic."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

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
