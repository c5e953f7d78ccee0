"""The real app on a loopback port for the console's tests, with its staff directory to make
accounts, and signing in through the console's own forms (in a browser or over HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from aiohttp import web
from playwright.async_api import Page

from actions.staff.accounts import StaffDirectory
from bot.root.app import Runtime, build_runtime, create_app
from bot.root.settings import Settings

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


@pytest.fixture
async def console_server(make_settings: Callable[..., Settings]) -> AsyncIterator[ConsoleServer]:
    settings = make_settings(console={"live_seconds": 0.3}, payments_admin_keys=[ADMIN_KEY])
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
