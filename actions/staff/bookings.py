"""The reservations as the staff console's Bookings page shows them, and what staff may do to
one from there.

The search is one query per page (the property and room come joined, the newest first, over
``ix_reservations_created``; stays overlapping some days over ``ix_reservations_stay``); a
reservation's detail is its audit trail, payments, ledger rows and refunds. The actions go
through the very services the chat uses: the cancellation with the policy's refund
(``cancel_with_refund``), the payment link of ``Pagar agora`` (``payment_offer``) and the
confirmation the payment sends (``PaymentService.confirm_again``); the guest hears each on
their own channel through the notifier. Each returns what happened as a word the console
answers with (``unknown``, ``impossible``, ``unreachable``, ``gateway``, or done).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select

from actions.booking.errors import BookingError, HoldExpired, NotFound
from actions.booking.reservations import Reservations
from actions.booking.states import ACTIVE
from actions.booking.tables import Property, Reservation, ReservationEvent
from actions.payments.gateway import GatewayError
from actions.payments.offer import cancel_with_refund, cancelled, payment_offer
from actions.payments.refunds import Refunds
from actions.payments.service import PaymentService
from actions.payments.tables import LedgerEntry, Payment, Refund
from bot.core.clock import Now
from bot.core.types import Address
from bot.outbound.media import MediaLibrary
from bot.outbound.proactive import Notifier
from bot.stores.database import Database, as_utc

Done = Literal["cancelled", "sent", "unknown", "impossible", "unreachable", "gateway"]


@dataclass(frozen=True, slots=True)
class BookingSearch:
    """What staff look for; every given field must match (``name`` and ``email`` are parts,
    any case; ``since``/``until`` the days a stay overlaps, ``until`` included)."""

    code: str | None = None
    email: str | None = None
    name: str | None = None
    since: date | None = None
    until: date | None = None
    property: str | None = None
    """A property's slug."""
    state: str | None = None


class BookingsBoard:
    def __init__(
        self,
        database: Database,
        reservations: Reservations,
        payments: PaymentService,
        refunds: Refunds,
        notifier: Notifier,
        media: MediaLibrary,
        now: Now,
    ) -> None:
        self._database = database
        self._reservations = reservations
        self._payments = payments
        self._refunds = refunds
        self._notifier = notifier
        self._media = media
        self._now = now

    async def properties(self) -> list[dict[str, str]]:
        async with self._database.session() as session:
            found = await session.execute(
                select(Property.slug, Property.name).order_by(Property.name)
            )
            return [{"slug": slug, "name": name} for slug, name in found]

    async def search(
        self,
        *,
        locale: str,
        code: str | None = None,
        email: str | None = None,
        name: str | None = None,
        since: date | None = None,
        until: date | None = None,
        property: str | None = None,
        state: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Matching reservations (``BookingSearch``), the newest first, ``limit`` of them from
        ``offset``, rooms named in ``locale``."""
        wanted = BookingSearch(code, email, name, since, until, property, state)
        query = (
            select(Reservation)
            .where(*_conditions(wanted))
            .order_by(Reservation.created_at.desc(), Reservation.id.desc())
            .offset(offset)
            .limit(limit)
        )
        async with self._database.session() as session:
            return [_row(found, locale) for found in (await session.scalars(query)).unique()]

    async def detail(self, code: str, locale: str) -> dict[str, Any] | None:
        """The reservation with its audit trail, payments, ledger rows and refunds; None when
        no reservation has this code."""
        async with self._database.session() as session:
            found = await session.scalar(select(Reservation).where(Reservation.code == code))
            if found is None:
                return None
            events = await session.scalars(
                select(ReservationEvent)
                .where(ReservationEvent.reservation_id == found.id)
                .order_by(ReservationEvent.id)
            )
            payments = await session.scalars(
                select(Payment).where(Payment.reservation_code == code).order_by(Payment.id)
            )
            ledger = await session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.reservation_code == code)
                .order_by(LedgerEntry.id)
            )
            refunds = await session.scalars(
                select(Refund).where(Refund.reservation_code == code).order_by(Refund.id)
            )
            return {
                "booking": {
                    **_row(found, locale),
                    "adults": found.adults,
                    "children": found.children,
                    "phone": found.phone,
                    "channel": found.channel,
                    "locale": found.locale,
                    "refund_due": found.refund_due,
                    "hold_expires_at": _at(found.hold_expires_at),
                    "reachable": self._notifier.reaches(found.channel),
                },
                "events": [
                    {
                        "at": as_utc(e.at),
                        "from_state": e.from_state,
                        "to_state": e.to_state,
                        "actor": e.actor,
                        "note": e.note,
                    }
                    for e in events
                ],
                "payments": [
                    {
                        "id": p.id,
                        "at": as_utc(p.created_at),
                        "gateway": p.gateway,
                        "reference": p.reference,
                        "amount": p.amount,
                        "currency": p.currency,
                        "status": p.status,
                    }
                    for p in payments
                ],
                "ledger": [
                    {
                        "at": as_utc(row.at),
                        "kind": row.kind,
                        "gateway": row.gateway,
                        "reference": row.gateway_reference,
                        "amount": row.amount,
                        "currency": row.currency,
                    }
                    for row in ledger
                ],
                "refunds": [
                    {
                        "id": r.id,
                        "at": as_utc(r.created_at),
                        "amount": r.amount,
                        "currency": r.currency,
                        "state": r.state,
                        "reason": r.reason,
                        "decided_by": r.decided_by,
                        "note": r.decision_note,
                    }
                    for r in refunds
                ],
            }

    async def cancel(self, code: str, actor: str) -> Done:
        """Cancel with the policy's refund, as the guest's "quero cancelar" does; a second
        cancellation is ``impossible`` and refunds nothing."""
        try:
            done, refund = await cancel_with_refund(self._reservations, self._refunds, code, actor)
        except NotFound:
            return "unknown"
        except BookingError:
            return "impossible"
        reservation = done.reservation
        if self._notifier.reaches(reservation.channel):
            await self._notifier.notify(
                Address(reservation.channel, reservation.conversation_id),
                reservation.locale,
                [cancelled(done, refund, reservation.locale, self._now())],
            )
        return "cancelled"

    async def resend_link(self, code: str, actor: str) -> Done:
        """The guest gets what ``Pagar agora`` gives them (the gateways to choose from, or the
        link) while the hold lasts."""
        found = await self._found(code)
        if isinstance(found, str):
            return found
        if found.state not in ACTIVE:
            return "impossible"
        if not self._notifier.reaches(found.channel):
            return "unreachable"
        try:
            reservation = await self._reservations.begin_payment(code, actor)
            outcomes = await payment_offer(
                self._payments, self._media, reservation, reservation.locale, self._now()
            )
        except HoldExpired:
            return "impossible"
        except GatewayError:
            return "gateway"
        await self._notifier.notify(
            Address(reservation.channel, reservation.conversation_id),
            reservation.locale,
            outcomes,
        )
        await self._reservations.note(code, actor, "payment link sent again")
        return "sent"

    async def resend_confirmation(self, code: str, actor: str) -> Done:
        """The guest gets the confirmation their payment brought, again."""
        found = await self._found(code)
        if isinstance(found, str):
            return found
        if not self._notifier.reaches(found.channel):
            return "unreachable"
        if not await self._payments.confirm_again(found):
            return "impossible"
        await self._reservations.note(code, actor, "confirmation sent again")
        return "sent"

    async def _found(self, code: str) -> Reservation | Done:
        try:
            return await self._reservations.by_code(code)
        except NotFound:
            return "unknown"


def _conditions(wanted: BookingSearch) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if wanted.code is not None:
        conditions.append(Reservation.code == wanted.code)
    if wanted.email is not None:
        conditions.append(_contains(Reservation.email, wanted.email))
    if wanted.name is not None:
        conditions.append(_contains(Reservation.guest_name, wanted.name))
    if wanted.since is not None:
        conditions.append(Reservation.check_out > wanted.since)
    if wanted.until is not None:
        conditions.append(Reservation.check_in <= wanted.until)
    if wanted.property is not None:
        slug = select(Property.id).where(Property.slug == wanted.property).scalar_subquery()
        conditions.append(Reservation.property_id == slug)
    if wanted.state is not None:
        conditions.append(Reservation.state == wanted.state)
    return conditions


def _contains(column: Any, part: str) -> ColumnElement[bool]:
    """``part`` anywhere in the column, any case; ``%`` and ``_`` are themselves."""
    escaped = part.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")


def _row(found: Reservation, locale: str) -> dict[str, Any]:
    return {
        "code": found.code,
        "guest_name": found.guest_name,
        "email": found.email,
        "property": found.property.name,
        "room": found.product.name(locale),
        "check_in": found.check_in.isoformat(),
        "check_out": found.check_out.isoformat(),
        "state": found.state,
        "total": found.total,
        "currency": found.currency,
        "created_at": as_utc(found.created_at),
    }


def _at(moment: Any) -> Any:
    return as_utc(moment) if moment is not None else None
