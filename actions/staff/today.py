"""What happened today in the books, for the console's Today page: conversations open now and
started per hour (the transcripts' conversations), bookings held, paid and expired (from the
reservations' audit trail), revenue by gateway and currency (the ledger's payments), refunds
waiting for approval and alerts firing. "Today" is the day in the hotel's
time zone; each figure is one aggregate query over an indexed time range, never a row per
reservation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from actions.alerts.tables import AlertRecord
from actions.booking.states import CONFIRMED, EXPIRED, HELD
from actions.booking.tables import ReservationEvent
from actions.handoff.tables import ConversationRecord
from actions.payments.tables import LedgerEntry, Refund
from bot.core.clock import Now
from bot.stores.database import Database, as_utc

COUNTED_STATES = (HELD, CONFIRMED, EXPIRED)
OPEN_MINUTES = 30
"""A conversation is open while its last line is younger than this."""


@dataclass(frozen=True, slots=True)
class Revenue:
    gateway: str
    currency: str
    amount: int
    """Minor units (centavos)."""


@dataclass(frozen=True, slots=True)
class BooksToday:
    day: str
    held: int
    paid: int
    expired: int
    holds_per_hour: tuple[int, ...]
    """24 counts, hour 0 to 23 of the day in the hotel's time zone."""
    revenue: tuple[Revenue, ...]
    refunds_waiting: int
    alerts_firing: int
    conversations_open: int
    conversations_per_hour: tuple[int, ...]
    """Conversations started in each hour of the day (24 counts, the hotel's time zone)."""


class TodayBooks:
    def __init__(self, database: Database, zone: str, now: Now) -> None:
        self._database = database
        self._zone = ZoneInfo(zone)
        self._now = now

    async def figures(self) -> BooksToday:
        local = self._now().astimezone(self._zone)
        start = datetime.combine(local.date(), time(), self._zone).astimezone(UTC)
        end = start + timedelta(days=1)
        async with self._database.session() as session:
            changes = await session.execute(
                select(ReservationEvent.to_state, func.count())
                .where(ReservationEvent.at >= start, ReservationEvent.at < end)
                .where(ReservationEvent.to_state.in_(COUNTED_STATES))
                .group_by(ReservationEvent.to_state)
            )
            counts: dict[str, int] = {state: count for state, count in changes}
            held_at = await session.scalars(
                select(ReservationEvent.at)
                .where(ReservationEvent.at >= start, ReservationEvent.at < end)
                .where(ReservationEvent.to_state == HELD)
            )
            takings = await session.execute(
                select(LedgerEntry.gateway, LedgerEntry.currency, func.sum(LedgerEntry.amount))
                .where(LedgerEntry.at >= start, LedgerEntry.at < end)
                .where(LedgerEntry.kind == "payment")
                .group_by(LedgerEntry.gateway, LedgerEntry.currency)
                .order_by(LedgerEntry.gateway, LedgerEntry.currency)
            )
            revenue = tuple(Revenue(g, c, int(amount or 0)) for g, c, amount in takings)
            waiting = await session.scalar(
                select(func.count(Refund.id)).where(Refund.state == "requested")
            )
            firing = await session.scalar(
                select(func.count(AlertRecord.id)).where(AlertRecord.status == "firing")
            )
            open_now = await session.scalar(
                select(func.count(ConversationRecord.id)).where(
                    ConversationRecord.last_at >= self._now() - timedelta(minutes=OPEN_MINUTES)
                )
            )
            # Started today means spoken in today too: the last_at index narrows it first.
            started_at = await session.scalars(
                select(ConversationRecord.started_at)
                .where(ConversationRecord.last_at >= start)
                .where(ConversationRecord.started_at >= start, ConversationRecord.started_at < end)
            )
        return BooksToday(
            local.date().isoformat(),
            counts.get(HELD, 0),
            counts.get(CONFIRMED, 0),
            counts.get(EXPIRED, 0),
            self._per_hour(held_at),
            revenue,
            int(waiting or 0),
            int(firing or 0),
            int(open_now or 0),
            self._per_hour(started_at),
        )

    def _per_hour(self, moments: Iterable[datetime]) -> tuple[int, ...]:
        counts = [0] * 24
        for moment in moments:
            counts[as_utc(moment).astimezone(self._zone).hour] += 1
        return tuple(counts)
