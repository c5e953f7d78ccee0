"""What a payment link is for now, as the payment pages show it (the sandbox checkout and the
page the payer's browser returns to from any gateway)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from actions.booking.conversation import reservation_facts
from actions.booking.states import ACTIVE, CANCELLED, CONFIRMED
from actions.booking.tables import Reservation

CheckoutStatus = Literal["payable", "paid", "expired", "closed"]


@dataclass(frozen=True, slots=True)
class Checkout:
    """What a payment link is for now: ``payable`` (held), ``paid``, ``expired`` (the hold ran
    out) or ``closed`` (cancelled); the reservation's locale and the pages' template values
    (code, property, room, checkin, checkout, nights, adults, children, total, currency,
    minutes_left, name)."""

    status: CheckoutStatus
    locale: str
    values: Mapping[str, Any]


def checkout_of(reservation: Reservation, now: datetime) -> Checkout:
    """What the checkout page shows of the reservation at ``now``."""
    facts = {
        **reservation_facts(reservation, reservation.locale, now),
        "name": reservation.guest_name,
    }
    if reservation.state == CONFIRMED:
        return Checkout("paid", reservation.locale, facts)
    if reservation.state == CANCELLED:
        return Checkout("closed", reservation.locale, facts)
    expires = reservation.hold_expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)  # SQLite hands back naive UTC datetimes
    payable = reservation.state in ACTIVE and expires is not None and expires > now
    return Checkout("payable" if payable else "expired", reservation.locale, facts)
