"""The booking data's upkeep, as jobs: holds expire on time, inventory stays a year ahead.

Each run is idempotent (expired holds are locked with SKIP LOCKED on PostgreSQL, inventory
inserts ignore existing days), so a job run twice, or by two workers, never double-releases.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date

import structlog

from actions.booking.catalog import extend_inventory
from actions.booking.conversation import BOOK_AGAIN
from actions.booking.holds import Holds
from actions.booking.tables import Reservation
from bot.core.loops import LoopFailures
from bot.core.types import Address, Outcome
from bot.jobs.job import Job
from bot.outbound.proactive import Notifier
from bot.stores.database import Database

log = structlog.get_logger("rsv360.booking")

OnExpired = Callable[[Sequence[Reservation]], Awaitable[None]]
EXPIRY_EVERY_SECONDS = 30.0
INVENTORY_EVERY_SECONDS = 3600.0


def booking_jobs(
    holds: Holds,
    database: Database,
    on_expired: OnExpired,
    loops: LoopFailures,
    today: Callable[[], date],
) -> list[Job]:
    async def expire_holds() -> None:
        expired = await holds.expire_holds(loops)
        if expired:
            log.info("holds_expired", count=len(expired))
            await on_expired(expired)

    async def extend_inventory_ahead() -> None:
        await extend_inventory(database, today())

    return [
        Job("expire_holds", expire_holds, every_seconds=EXPIRY_EVERY_SECONDS),
        Job("extend_inventory", extend_inventory_ahead, every_seconds=INVENTORY_EVERY_SECONDS),
    ]


def hold_expiry_notice(notifier: Notifier) -> OnExpired:
    """Each guest whose hold ran out hears it in the chat the booking was made in; a failed
    notice is only logged (the hold has expired anyway) and the next guest is still told."""

    async def notify(expired: Sequence[Reservation]) -> None:
        for reservation in expired:
            outcome = Outcome("booking/hold_expired", {"code": reservation.code}, (BOOK_AGAIN,))
            try:
                await notifier.notify(
                    Address(reservation.channel, reservation.conversation_id),
                    reservation.locale,
                    [outcome],
                )
            except Exception:
                log.exception("notice_failed", template=outcome.template)

    return notify
