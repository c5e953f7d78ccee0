"""The booking data's upkeep, as jobs: guests hear before their hold runs out, holds expire on
time, inventory stays a year ahead.

Each run is idempotent (holds are locked with SKIP LOCKED on PostgreSQL and a warning is kept
in the hold's history, inventory inserts ignore existing days), so a job run twice, or by two
workers, never warns twice nor double-releases.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import structlog

from actions.booking.catalog import extend_inventory
from actions.booking.conversation import BOOK_AGAIN, reservation_facts
from actions.booking.holds import Holds
from actions.booking.tables import Reservation
from bot.core.buttons import button_payload
from bot.core.clock import Now
from bot.core.loops import LoopFailures
from bot.core.types import Address, Choice, Outcome
from bot.jobs.job import Job
from bot.outbound.proactive import Notifier
from bot.stores.database import Database

log = structlog.get_logger("rsv360.booking")

HoldsNotice = Callable[[Sequence[Reservation]], Awaitable[None]]
EXPIRY_EVERY_SECONDS = 30.0
INVENTORY_EVERY_SECONDS = 3600.0


def booking_jobs(
    holds: Holds,
    database: Database,
    notifier: Notifier,
    loops: LoopFailures,
    now: Now,
    warn_within: timedelta,
    reminder_on: Callable[[str], bool] = lambda slug: True,
) -> list[Job]:
    """``reminder_on``: whether a property (by slug) sends the hold reminder (its switch in the
    property's guest messages, ``actions/lifecycle``); a hold of one that does not is still
    marked warned, so switching it on later does not remind old holds."""
    on_expiring, on_expired = hold_warning_notice(notifier, now), hold_expiry_notice(notifier)

    async def warn_expiring_holds() -> None:
        expiring = await holds.warn_expiring(warn_within, loops)
        if expiring:
            log.info("holds_expiring", count=len(expiring))
            await on_expiring([hold for hold in expiring if reminder_on(hold.property.slug)])

    async def expire_holds() -> None:
        expired = await holds.expire_holds(loops)
        if expired:
            log.info("holds_expired", count=len(expired))
            await on_expired(expired)

    async def extend_inventory_ahead() -> None:
        await extend_inventory(database, now().date())

    return [
        Job("warn_expiring_holds", warn_expiring_holds, every_seconds=EXPIRY_EVERY_SECONDS),
        Job("expire_holds", expire_holds, every_seconds=EXPIRY_EVERY_SECONDS),
        Job("extend_inventory", extend_inventory_ahead, every_seconds=INVENTORY_EVERY_SECONDS),
    ]


def hold_warning_notice(notifier: Notifier, now: Now) -> HoldsNotice:
    """Each guest whose hold runs out soon hears how long is left, with the pay button."""
    return guest_notice(
        notifier,
        lambda reservation: Outcome(
            "booking/hold_expiring",
            reservation_facts(reservation, reservation.locale, now()),
            (Choice("pay_now", payload=button_payload("pay", code=reservation.code)),),
        ),
    )


def hold_expiry_notice(notifier: Notifier) -> HoldsNotice:
    """Each guest whose hold ran out hears it, with a button to book again."""
    return guest_notice(
        notifier,
        lambda reservation: Outcome(
            "booking/hold_expired", {"code": reservation.code}, (BOOK_AGAIN,)
        ),
    )


def guest_notice(notifier: Notifier, outcome_of: Callable[[Reservation], Outcome]) -> HoldsNotice:
    """Tell each reservation's guest, in the chat the booking was made in; a failed notice is
    only logged (what it reports has happened anyway) and the next guest is still told."""

    async def notify(reservations: Sequence[Reservation]) -> None:
        for reservation in reservations:
            outcome = outcome_of(reservation)
            try:
                await notifier.notify(
                    Address(reservation.channel, reservation.conversation_id),
                    reservation.locale,
                    [outcome],
                )
            except Exception:
                log.exception("notice_failed", template=outcome.template)

    return notify
