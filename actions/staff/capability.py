"""Staff plugs in: the directory of accounts, chat identities, console sessions and the audit
log, and the day's figures from the books for the console. It answers no intent: its router
is empty."""

from __future__ import annotations

from datetime import UTC, datetime

from actions.capability import Capability, Kit
from actions.staff.accounts import StaffDirectory
from actions.staff.conversation import create_router
from actions.staff.today import TodayBooks


def plug(kit: Kit, zone: str) -> Capability:
    """``zone``: the hotel's time zone, where "today" begins."""
    kit.services.provide(StaffDirectory(kit.database, lambda: datetime.now(UTC)))
    kit.services.provide(TodayBooks(kit.database, zone, lambda: datetime.now(UTC)))
    return Capability(create_router())
