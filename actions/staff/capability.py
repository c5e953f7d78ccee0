"""Staff plugs in: the directory of accounts, chat identities, console sessions and the audit
log, the day's figures from the books and the bookings board for the console. It answers no
intent: its router is empty."""

from __future__ import annotations

from actions.booking.reservations import Reservations
from actions.capability import Capability, Kit
from actions.payments.refunds import Refunds
from actions.payments.service import PaymentService
from actions.staff.accounts import StaffDirectory
from actions.staff.bookings import BookingsBoard
from actions.staff.conversation import create_router
from actions.staff.today import TodayBooks


def plug(kit: Kit, zone: str) -> Capability:
    """``zone``: the hotel's time zone, where "today" begins."""
    kit.services.provide(StaffDirectory(kit.database, kit.now))
    kit.services.provide(TodayBooks(kit.database, zone, kit.now))
    kit.services.provide(
        BookingsBoard(
            kit.database,
            kit.services.get(Reservations),
            kit.services.get(PaymentService),
            kit.services.get(Refunds),
            kit.notifier,
            kit.media,
            kit.now,
        )
    )
    return Capability(create_router())
