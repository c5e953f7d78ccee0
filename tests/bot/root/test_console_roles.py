"""The chat identities linked to accounts reach the role book of every process, and unlinking
or disabling takes the role away at the next refresh."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from actions.staff.accounts import StaffDirectory
from bot.core.roles import RoleBook
from bot.root.console import refresh_roles
from bot.stores.database import Database
from tests.support.waiting import until


async def test_linked_identities_reach_the_role_book(database: Database) -> None:
    directory = StaffDirectory(database, lambda: datetime.now(UTC))
    await directory.add("ana@pousada.example", "admin", "test")
    await directory.link("ana@pousada.example", "slack:U0ANA", "test")
    roles = RoleBook(staff=["slack:U0BOOT"])
    refreshing = asyncio.create_task(refresh_roles(directory, roles, every=0.05))
    try:
        await until(lambda: roles.role_of("slack", "U0ANA") == "admin", 10)
        await directory.disable("ana@pousada.example", "test")
        await until(lambda: roles.role_of("slack", "U0ANA") == "guest", 10)
        assert roles.role_of("slack", "U0BOOT") == "staff"
    finally:
        refreshing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refreshing
