"""Empty databases brought to the newest revision by the migrations, on SQLite or PostgreSQL.

Registered as a pytest plugin by tests/conftest.py: the ``database`` fixture runs a test on both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

import actions.alerts.tables
import actions.booking.tables
import actions.experiments.tables
import actions.forecasts.tables
import actions.handoff.tables
import actions.lifecycle.tables
import actions.payments.tables
import actions.privacy.tables
import actions.staff.tables  # noqa: F401  (and the other capabilities' tables, dropped with them)
from actions.tables import Base
from bot.stores import migrations
from bot.stores.database import Database
from tests.support.services import POSTGRESQL_URL


async def fresh_database(url: str) -> Database:
    """A Database on an empty schema brought to the newest revision by the migrations."""
    database = Database(url)
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await migrations.upgrade(database)
    return database


def database_url(backend: str, directory: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{directory}/t.db"
    return POSTGRESQL_URL


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    database = await fresh_database(database_url(request.param, tmp_path))
    yield database
    await database.close()
