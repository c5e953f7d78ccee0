"""Booking plugs in: quotes, holds and reservations for its actions and for payments, the
booking conversation, and the upkeep jobs (guests warned before their hold runs out, holds
expire, inventory stays a year ahead), and the notes later capabilities add to the offers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from actions.booking.conversation import create_router
from actions.booking.holds import Holds
from actions.booking.notes import StayNotes
from actions.booking.quotes import Quotes
from actions.booking.reservations import Reservations
from actions.booking.upkeep import booking_jobs
from actions.capability import Capability, Kit
from bot.core.goals import GoalEvents

WARNING_MINUTES = 5


def plug(
    kit: Kit, hold_minutes: int, reminder_on: Callable[[str], bool] = lambda slug: True
) -> Capability:
    """``reminder_on``: whether a property (by slug) sends the hold-expiry reminder."""
    holds = Holds(kit.database, kit.now, hold_minutes)
    reservations = Reservations(kit.database, kit.now, kit.services.get(GoalEvents))
    kit.services.provide(Quotes(kit.database, kit.now), holds, reservations, StayNotes())
    jobs = booking_jobs(
        holds,
        kit.database,
        kit.notifier,
        kit.metrics.loops,
        kit.now,
        # A short hold is not warned about as soon as it is made.
        timedelta(minutes=min(WARNING_MINUTES, hold_minutes / 3)),
        reminder_on,
    )
    return Capability(create_router(), jobs)
