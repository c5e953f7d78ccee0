"""The reservation lifecycle and lookups: payment begun and confirmed (``held →
pending_payment → confirmed``), notes, cancellation with its refund by the policy, and finding
a reservation by code, e-mail or conversation. Every change is an audit event with its actor.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.booking.errors import HoldExpired, NotFound
from actions.booking.holds import release
from actions.booking.policy import CancellationPolicy
from actions.booking.quotes import local_today
from actions.booking.states import (
    ACTIVE,
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    PENDING,
    record_note,
    transition,
)
from actions.booking.tables import Property, Reservation, ReservationEvent
from bot.core.clock import Now
from bot.core.goals import GoalEvents
from bot.stores.database import Database


@dataclass(frozen=True, slots=True)
class Cancellation:
    reservation: Reservation
    refund_percent: int
    refund: int


def policy_of(place: Property) -> CancellationPolicy:
    return CancellationPolicy(
        place.free_cancel_days, place.partial_cancel_days, place.partial_refund_percent
    )


class Reservations:
    def __init__(
        self,
        database: Database,
        clock: Now,
        goals: GoalEvents | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._goals = goals
        """Told of each payment confirmed: the ``booking_paid`` goal of the experiments."""

    async def begin_payment(self, code: str, actor: str) -> Reservation:
        async with self._database.session() as session:
            reservation = await self._locked(session, code)
            if reservation.state == PENDING:
                return reservation
            expired = await self._expire_if_due(session, reservation)
            if not expired:
                transition(session, reservation, PENDING, actor, self._clock())
                return reservation
        raise HoldExpired(code)  # after the commit: the expiry and the released rooms stay

    async def confirm_payment(self, code: str, actor: str) -> tuple[Reservation, bool]:
        """Confirm a paid reservation; False when it was already confirmed (a repeated payment
        notice). A hold that ran out is expired instead, and HoldExpired raised."""
        now = self._clock()
        async with self._database.session() as session:
            reservation = await self._locked(session, code)
            if reservation.state == CONFIRMED:
                return reservation, False
            expired = await self._expire_if_due(session, reservation)
            if not expired:
                transition(session, reservation, CONFIRMED, actor, now)
                reservation.hold_expires_at = None
        if expired:
            raise HoldExpired(code)  # after the commit: the expiry and the released rooms stay
        if self._goals is not None:
            await self._goals.record(
                reservation.channel,
                reservation.conversation_id,
                "booking_paid",
                now,
                reservation.total,
            )
        return reservation, True

    async def note(self, code: str, actor: str, note: str) -> Reservation:
        """Record something that happened to a reservation without changing its state."""
        async with self._database.session() as session:
            reservation = await _by_code(session, code)
            record_note(session, reservation, actor, self._clock(), note)
            return reservation

    async def cancellation_terms(self, code: str) -> Cancellation:
        async with self._database.session() as session:
            reservation = await _by_code(session, code)
            return self._terms(reservation)

    async def cancel(self, code: str, actor: str) -> Cancellation:
        async with self._database.session() as session:
            reservation = await self._locked(session, code)
            terms = self._terms(reservation)
            note = f"refund due {terms.refund}"
            transition(session, reservation, CANCELLED, actor, self._clock(), note)
            reservation.refund_due = terms.refund
            reservation.hold_expires_at = None
            await release(session, reservation)
            return terms

    async def reservations_for(self, channel: str, conversation_id: str) -> list[Reservation]:
        async with self._database.session() as session:
            found = await session.scalars(
                select(Reservation)
                .where(
                    Reservation.channel == channel, Reservation.conversation_id == conversation_id
                )
                .order_by(Reservation.check_in.desc())
                .limit(10)
            )
            return list(found.unique())

    async def find(self, code: str, email: str) -> Reservation | None:
        """A reservation by its code AND the booking e-mail: a code alone reveals nothing."""
        async with self._database.session() as session:
            reservation = await session.scalar(
                select(Reservation).where(Reservation.code == code.upper())
            )
            if reservation is None or not secrets.compare_digest(
                reservation.email.lower().encode(), email.strip().lower().encode()
            ):
                return None
            return reservation

    async def by_code(self, code: str) -> Reservation:
        async with self._database.session() as session:
            return await _by_code(session, code)

    async def history(self, code: str) -> list[ReservationEvent]:
        async with self._database.session() as session:
            reservation = await _by_code(session, code)
            events = await session.scalars(
                select(ReservationEvent)
                .where(ReservationEvent.reservation_id == reservation.id)
                .order_by(ReservationEvent.id)
            )
            return list(events)

    def _terms(self, reservation: Reservation) -> Cancellation:
        if reservation.state != CONFIRMED:
            return Cancellation(reservation, 0, 0)  # nothing was paid
        days_before = (reservation.check_in - local_today(self._clock(), reservation.property)).days
        percent = policy_of(reservation.property).refund_percent(days_before)
        return Cancellation(reservation, percent, reservation.total * percent // 100)

    async def _locked(self, session: AsyncSession, code: str) -> Reservation:
        query = select(Reservation).where(Reservation.code == code.upper())
        if not self._database.is_sqlite:
            query = query.with_for_update(of=Reservation)
        reservation = await session.scalar(query)
        if reservation is None:
            raise NotFound(code)
        return reservation

    async def _expire_if_due(self, session: AsyncSession, reservation: Reservation) -> bool:
        """Expire an active reservation whose hold ran out, before the sweeper gets to it."""
        now = self._clock()
        due = (
            reservation.state in ACTIVE
            and reservation.hold_expires_at is not None
            and _aware(reservation.hold_expires_at) <= now
        )
        if due:
            transition(session, reservation, EXPIRED, "system:hold-expiry", now)
            await release(session, reservation)
        return due


async def _by_code(session: AsyncSession, code: str) -> Reservation:
    reservation = await session.scalar(select(Reservation).where(Reservation.code == code.upper()))
    if reservation is None:
        raise NotFound(code)
    return reservation


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
