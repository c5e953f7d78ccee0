"""The relational database: an async SQLAlchemy engine for SQLite (embedded) or PostgreSQL.

SQLite serialises writers; every connection waits for the lock instead of failing at once, and
a write transaction starts with BEGIN IMMEDIATE so that a read-then-write cannot be overtaken.
Within one process, units of work on SQLite take turns on an asyncio lock before they begin:
connections left to SQLite's own busy handler sleep in steps of up to 100 ms while the lock is
free again, and under a hundred concurrent conversations a turn waited seconds for it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    TableValuedAlias,
    bindparam,
    column,
    event,
    func,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.stores.private import private_directory, private_file


def as_utc(moment: datetime) -> datetime:
    """A stored time, aware: SQLite gives back naive datetimes, and every stored one is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _on_postgresql(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


def _given(table: Table, rows: Sequence[Mapping[str, object]]) -> TableValuedAlias:
    """``rows`` as a table named ``given``, one array per column of ``table`` (PostgreSQL's
    ``unnest``): the statement reads the same for one row or a thousand, so PostgreSQL prepares
    and plans it once, and the server runs it once."""
    names = list(rows[0])
    return (
        func.unnest(
            *(
                bindparam(name, [row[name] for row in rows], type_=ARRAY(table.c[name].type))
                for name in names
            )
        )
        .table_valued(*(column(name, table.c[name].type) for name in names))
        .render_derived(name="given")
    )


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, object]],
    unless_taken: Sequence[str] = (),
) -> int:
    """Rows with the same columns, written together; how many were written. With
    ``unless_taken`` (the columns of a unique constraint), a row whose values there are taken
    already, by an earlier row or one of the batch, is left out (``ON CONFLICT DO NOTHING``).
    On PostgreSQL in one statement (``INSERT … SELECT FROM unnest``): asyncpg's executemany has
    the server run the INSERT once per row, and a multi-row VALUES costs SQLAlchemy more to
    compile than the rows cost to write (docs/benchmarks.md). SQLite runs in the process: an
    executemany there costs little."""
    if not rows:
        return 0
    on_postgresql = _on_postgresql(session)
    statement = (pg_insert if on_postgresql else sqlite_insert)(table)
    if unless_taken:
        statement = statement.on_conflict_do_nothing(index_elements=list(unless_taken))
    parameters = None
    if on_postgresql:
        statement = statement.from_select(list(rows[0]), select(*_given(table, rows).c))
    else:
        parameters = list(rows)
    if not unless_taken:
        await session.execute(statement, parameters)
        return len(rows)
    written = await session.execute(statement.returning(*table.primary_key), parameters)
    return len(written.all())


async def update_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, object]],
    values: Callable[[Mapping[str, ColumnElement[Any]]], Mapping[str, object]],
) -> None:
    """Rows with the same columns of ``table``, ``id`` among them, each updating the row of its
    id to ``values(given)``, where ``given`` holds the row's columns by name. On PostgreSQL in
    one statement (``UPDATE … FROM unnest``), as ``insert_rows``."""
    if not rows:
        return
    if not _on_postgresql(session):
        # A bound parameter may not share a column's name in an UPDATE's executemany.
        given = {name: bindparam(f"given_{name}", type_=table.c[name].type) for name in rows[0]}
        await session.execute(
            update(table).where(table.c.id == given["id"]).values(values(given)),
            [{f"given_{name}": value for name, value in row.items()} for row in rows],
        )
        return
    unnested = _given(table, rows)
    columns = {name: unnested.c[name] for name in rows[0]}
    await session.execute(update(table).where(table.c.id == columns["id"]).values(values(columns)))


def one_of(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, object]]
) -> ColumnElement[bool]:
    """A WHERE clause: the row's columns named in ``rows`` are those of one of them. On
    PostgreSQL against arrays, as ``insert_rows``: a list of row comparisons reads differently
    for each length, so PostgreSQL planned each length anew (about 4 ms), and with stale
    statistics it scanned the whole table."""
    names = list(rows[0])
    columns = tuple_(*(table.c[name] for name in names))
    if not _on_postgresql(session):
        return columns.in_([tuple(row[name] for name in names) for row in rows])
    return columns.in_(select(*_given(table, rows).c))


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'rsv360.db').resolve()}"


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self.is_sqlite:
            database = make_url(url).database
            if database and database != ":memory:":
                private_directory(Path(database).parent)
                private_file(Path(database))
            options = {"connect_args": {"timeout": 30}}
        else:
            options.update(pool_size=20, max_overflow=20)
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if self.is_sqlite:
            _tune_sqlite(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._sqlite_turns = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: committed when the block ends, rolled back when it raises."""
        if self._sqlite_turns is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        async with self._sqlite_turns, self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def one_process_at_a_time(self, name: str) -> AsyncIterator[None]:
        """Held by one process at a time (several workers starting on one PostgreSQL: the
        first seeds, the others find it done). SQLite is never shared between processes."""
        if self.is_sqlite:
            yield
            return
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            await connection.commit()
            try:
                yield
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                await connection.commit()

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(connection: Any, _: Any) -> None:
        connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
