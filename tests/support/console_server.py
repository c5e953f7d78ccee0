"""The real app on a loopback port for the console's tests, with its staff directory to make
accounts, and signing in through the console's own forms (in a browser) or with a session made
by the directory (over HTTP). ``console_server`` runs on the embedded SQLite file and in-process
stores; ``shared_console_server`` on PostgreSQL and Redis, as several workers run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from aiohttp import web
from playwright.async_api import Page
from redis.asyncio import Redis

from actions.staff.accounts import StaffDirectory
from bot.root.app import Runtime, build_runtime, create_app
from bot.root.settings import Settings
from bot.stores.database import Database
from tests.support.databases import fresh_database
from tests.support.services import POSTGRESQL_URL, REDIS_URL

STRONG_PASSWORD = "correct horse battery staple"
ADMIN_KEY = "ops-key"
"""A bearer key of /admin/refunds."""


@dataclass
class ConsoleServer:
    url: str
    runtime: Runtime
    app: web.Application

    @property
    def directory(self) -> StaffDirectory:
        return self.runtime.services.get(StaffDirectory)

    async def account(self, email: str, role: str = "staff") -> str:
        """An account with ``STRONG_PASSWORD`` already chosen; returns its e-mail."""
        await self.directory.add(email, role, "test")  # type: ignore[arg-type]
        account = await self.directory.authenticate(email, await self._one_time(email))
        assert account is not None
        await self.directory.change_password(account.id, STRONG_PASSWORD, None)
        return email

    async def _one_time(self, email: str) -> str:
        return await self.directory.reset_password(email, "test")

    async def session(self, email: str) -> ConsoleSession:
        """A signed-in session of the account (``STRONG_PASSWORD``), as a browser would hold it."""
        account = await self.directory.authenticate(email, STRONG_PASSWORD)
        assert account is not None
        token = await self.directory.start_session(account, None)
        signed = await self.directory.session(token, timedelta(hours=1), timedelta(hours=2))
        assert signed is not None
        return ConsoleSession(token, signed.csrf_token)


@dataclass(frozen=True)
class ConsoleSession:
    cookie: str
    csrf: str


@pytest.fixture
async def console_server(make_settings: Callable[..., Settings]) -> AsyncIterator[ConsoleServer]:
    settings = make_settings(console={"live_seconds": 0.3}, payments_admin_keys=[ADMIN_KEY])
    async with serve_console(settings) as server:
        yield server


@pytest.fixture
async def postgresql() -> AsyncIterator[Database]:
    """The tests' PostgreSQL database, dropped and migrated afresh."""
    database = await fresh_database(POSTGRESQL_URL)
    yield database
    await database.close()


@pytest.fixture
async def shared_console_server(
    make_settings: Callable[..., Settings], redis: Redis, postgresql: Database
) -> AsyncIterator[ConsoleServer]:
    """The console on PostgreSQL and Redis (both emptied first)."""
    settings = make_settings(
        console={"live_seconds": 0.3},
        redis_url=REDIS_URL,
        database_url=POSTGRESQL_URL,
    )
    async with serve_console(settings) as server:
        yield server


@asynccontextmanager
async def serve_console(settings: Settings) -> AsyncIterator[ConsoleServer]:
    runtime = build_runtime(settings)
    app = create_app(settings, runtime)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield ConsoleServer(f"http://127.0.0.1:{port}", runtime, app)
    finally:
        await runner.cleanup()


async def sign_in(page: Page, url: str, email: str, password: str = STRONG_PASSWORD) -> None:
    await page.goto(f"{url}/console/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in").click()
