"""Background upkeep of the booking data: holds expire on time, inventory stays a year ahead.

Every worker runs it; each pass is idempotent (expired holds are locked with SKIP LOCKED on
PostgreSQL, inventory inserts ignore existing days), so several workers never double-release.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import structlog

from actions.booking.catalog import extend_inventory
from actions.booking.holds import Holds
from actions.booking.tables import Reservation
from bot.core.loops import LoopFailures
from bot.stores.database import Database

log = structlog.get_logger("rsv360.booking")

OnExpired = Callable[[Sequence[Reservation]], Awaitable[None]]


async def run_upkeep(
    holds: Holds,
    database: Database,
    on_expired: OnExpired,
    loops: LoopFailures,
    every_seconds: float = 30.0,
    inventory_every: int = 120,
) -> None:
    """Until cancelled: expire due holds every ``every_seconds``, extend inventory now and then."""
    passes = 0
    while True:
        try:
            expired = await holds.expire_holds(loops)
            if expired:
                log.info("holds_expired", count=len(expired))
                await on_expired(expired)
            if passes % inventory_every == 0:
                await extend_inventory(database, datetime.now(UTC).date())
        except Exception:
            log.exception("upkeep_failed")
        passes += 1
        await asyncio.sleep(every_seconds)
