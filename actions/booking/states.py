"""A reservation's states, the changes between them, and the audit event each change leaves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from actions.booking.errors import IllegalTransition
from actions.booking.tables import Reservation, ReservationEvent

HELD, PENDING, CONFIRMED, CANCELLED, EXPIRED = (
    "held",
    "pending_payment",
    "confirmed",
    "cancelled",
    "expired",
)
TRANSITIONS = {
    HELD: {PENDING, CONFIRMED, CANCELLED, EXPIRED},
    PENDING: {CONFIRMED, CANCELLED, EXPIRED},
    CONFIRMED: {CANCELLED},
    CANCELLED: set(),
    EXPIRED: set(),
}
ACTIVE = (HELD, PENDING)


def transition(
    session: AsyncSession,
    reservation: Reservation,
    to_state: str,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> None:
    if to_state not in TRANSITIONS[reservation.state]:
        raise IllegalTransition(f"{reservation.state} → {to_state}")
    session.add(
        ReservationEvent(
            reservation_id=reservation.id,
            at=now,
            from_state=reservation.state,
            to_state=to_state,
            actor=actor,
            note=note,
        )
    )
    reservation.state, reservation.updated_at = to_state, now


def record_note(
    session: AsyncSession, reservation: Reservation, actor: str, now: datetime, text: str
) -> None:
    """Something that happened to a reservation without changing its state, in its history."""
    session.add(
        ReservationEvent(
            reservation_id=reservation.id,
            at=now,
            from_state=reservation.state,
            to_state=reservation.state,
            actor=actor,
            note=text,
        )
    )
