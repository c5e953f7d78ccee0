"""The day's figures from the books, on both databases: holds made, paid and expired today (in
the hotel's time zone, not UTC's), the day's takings per gateway, refunds waiting, alerts firing,
conversations open now and started per hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from actions.alerts.tables import AlertRecord
from actions.booking.catalog import seed
from actions.booking.holds import Guest, Holds
from actions.booking.reservations import Reservations
from actions.booking.tables import Product
from actions.handoff.tables import ConversationRecord
from actions.payments.tables import LedgerEntry, Refund
from actions.staff.today import Revenue, TodayBooks
from bot.stores.database import Database
from tests.support.clock import NOW, Clock

ZONE = "America/Sao_Paulo"


async def test_the_days_figures_count_only_today_in_the_hotels_zone(database: Database) -> None:
    # The booking code keeps UTC; the hotel's day starts at 03:00 UTC.
    morning = NOW.replace(hour=0, minute=30).astimezone(UTC)  # 00:30 local
    afternoon = NOW.astimezone(UTC)  # 15:00 local
    clock = Clock(morning - timedelta(hours=1))  # 23:30 the day before, local time
    await seed(database, NOW.date())
    async with database.session() as session:
        product = (await session.scalars(select(Product.id).order_by(Product.id))).first()
    assert product is not None
    holds = Holds(database, hold_minutes=15, clock=clock)
    check_in = NOW.date() + timedelta(days=40)

    async def hold(number: int) -> str:
        guest = Guest(f"Guest {number}", f"guest{number}@example.com")
        reservation = await holds.hold(
            product, check_in, check_in + timedelta(days=2), 1, 0, guest, "web",
            f"conv-{number}", "pt_BR", "guest:web",
        )  # fmt: skip
        return reservation.code

    await hold(0)  # yesterday, local time
    clock.now = morning
    expiring = await hold(1)
    clock.now = afternoon
    paid = await hold(2)
    await hold(3)
    await Reservations(database, clock=clock).confirm_payment(paid, "payments")
    clock.now = afternoon + timedelta(minutes=1)  # the 00:30 hold (and yesterday's) run out
    expired = [r.code for r in await holds.expire_holds()]
    assert expiring in expired

    async with database.session() as session:
        for gateway, amount in (("stripe", 10_000), ("stripe", 5_000), ("sandbox", 700)):
            session.add(ledger(gateway, amount, afternoon))
        session.add(ledger("stripe", 99_999, morning - timedelta(hours=2)))
        session.add(refund("requested"))
        session.add(refund("paid"))
        session.add(alert("firing"))
        session.add(alert("resolved"))
        session.add(conversation(1, started=morning, last=afternoon))  # open, started at 00h
        session.add(conversation(2, started=morning - timedelta(hours=2), last=morning))
        later = afternoon - timedelta(minutes=45)
        session.add(conversation(3, started=later, last=later + timedelta(minutes=5)))

    figures = await TodayBooks(database, ZONE, clock).figures()
    assert figures.day == NOW.date().isoformat()
    assert (figures.held, figures.paid) == (3, 1)
    assert figures.expired == len(expired) >= 1
    assert figures.holds_per_hour[0] == 1
    assert figures.holds_per_hour[15] == 2
    assert sum(figures.holds_per_hour) == 3
    assert figures.revenue == (Revenue("sandbox", "BRL", 700), Revenue("stripe", "BRL", 15_000))
    assert (figures.refunds_waiting, figures.alerts_firing) == (1, 1)
    assert figures.conversations_open == 1  # a line in the last 30 minutes
    assert figures.conversations_per_hour[0] == 1  # started today; yesterday's does not count
    assert figures.conversations_per_hour[14] == 1
    assert sum(figures.conversations_per_hour) == 2


def conversation(number: int, started: datetime, last: datetime) -> ConversationRecord:
    return ConversationRecord(
        channel="web", conversation_id=f"conv-{number}", locale="pt_BR", started_at=started,
        last_at=last, last_role="guest", last_text="oi", lines=2,
    )  # fmt: skip


def ledger(gateway: str, amount: int, at: datetime) -> LedgerEntry:
    reference = f"{gateway}-{amount}-{at.timestamp()}"
    return LedgerEntry(
        reservation_code="ABC123", payment_id=1, refund_id=None, kind="payment",
        gateway=gateway, gateway_reference=reference, amount=amount, currency="BRL",
        idempotency_key=reference, details={}, at=at,
    )  # fmt: skip


def refund(state: str) -> Refund:
    return Refund(
        reservation_code="ABC123", payment_id=1, amount=100, currency="BRL", state=state,
        reason="cancellation", idempotency_key=f"refund-{state}",
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def alert(status: str) -> AlertRecord:
    return AlertRecord(
        dedupe_key=f"test:{status}", type="system", severity="warning", status=status,
        source="code", summary="disk", details="", actions=[], fired_at=NOW, last_at=NOW,
    )  # fmt: skip
