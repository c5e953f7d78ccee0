"""Payments of reservations: links from the right gateway, and what a gateway's answer changes.

``apply`` is the one place a payment's state moves. It runs with the payment row locked, so any
number of concurrent notifications of one payment record it once in the ledger, and the
reservation's own lock (``Reservations.confirm_payment``) makes the guest hear the
confirmation exactly once. States only move forward: ``created`` → ``paid`` / ``flagged`` /
``failed`` / ``expired``, and a failure or expiry reported after the money came changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from actions.booking.errors import HoldExpired, IllegalTransition, NotFound
from actions.booking.reservations import Reservations
from actions.booking.states import CONFIRMED
from actions.booking.tables import Reservation
from actions.payments.gateway import (
    Gateway,
    GatewayError,
    LinkRequest,
    PaymentLink,
    PaymentStatus,
)
from actions.payments.metrics import PaymentMetrics
from actions.payments.notices import Notices, flagged_key, pay_again
from actions.payments.routing import SANDBOX, Routes
from actions.payments.tables import LedgerEntry, Payment
from bot.core.buttons import button_payload
from bot.core.clock import Now
from bot.core.observability import pseudonym
from bot.core.types import Choice, Outcome
from bot.stores.database import Database

log = structlog.get_logger("rsv360.payments")

Applied = Literal[
    "confirmed",
    "already",
    "flagged",
    "failed",
    "expired",
    "pending",
    "unknown",
    "late",
    "duplicate",
]
OPEN = "created"
CLOSED = "closed"
"""A link left open when the reservation was paid another way: closed at its gateway where the
API allows it, and here; a payment that still comes through it is refunded as a duplicate."""
DUPLICATE = "duplicate"
"""Money that came for a reservation another payment had already paid: given back whole."""


@dataclass(frozen=True, slots=True)
class Settled:
    """What ``apply`` did and to which payment."""

    result: Applied
    payment_id: int | None = None


class PaymentService:
    def __init__(
        self,
        database: Database,
        reservations: Reservations,
        gateways: Mapping[str, Gateway],
        routes: Routes,
        notices: Notices,
        metrics: PaymentMetrics,
        return_url: Callable[[str, str], str],
        now: Now,
        on_late_payment: Callable[[int], Awaitable[None]] | None = None,
        on_duplicate_payment: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self._database = database
        self._reservations = reservations
        self.gateways = gateways
        self._routes = routes
        self._notices = notices
        self.metrics = metrics
        self._return_url = return_url
        self._now = now
        self.on_late_payment = on_late_payment
        self.on_duplicate_payment = on_duplicate_payment

    def choices_for(self, reservation: Reservation) -> list[str]:
        return self._routes.for_(reservation.property.slug, reservation.currency)

    async def link_for(self, reservation: Reservation, gateway_name: str) -> PaymentLink:
        """The open link of this gateway for the reservation, or a new one (with a new
        idempotency key only after the previous one failed or expired)."""
        async with self._database.session() as session:
            open_ = await session.scalar(
                select(Payment)
                .where(
                    Payment.reservation_code == reservation.code,
                    Payment.gateway == gateway_name,
                    Payment.status == OPEN,
                    Payment.amount == reservation.total,
                )
                .order_by(Payment.id.desc())
                .limit(1)
            )
            if open_ is not None:
                return PaymentLink(open_.reference, open_.url)
            attempt = await session.scalar(
                select(func.count())
                .select_from(Payment)
                .where(
                    Payment.reservation_code == reservation.code, Payment.gateway == gateway_name
                )
            )
        key = f"pay-{reservation.code}-{gateway_name}-{(attempt or 0) + 1}"
        assert reservation.hold_expires_at is not None
        link = await self.gateways[gateway_name].create_link(
            LinkRequest(
                reservation_code=reservation.code,
                amount=reservation.total,
                currency=reservation.currency,
                description=f"{reservation.property.name} · {reservation.code}",
                email=reservation.email,
                expires_at=_aware(reservation.hold_expires_at),
                return_url=self._return_url(gateway_name, reservation.code),
                idempotency_key=key,
            )
        )
        now = self._now()
        async with self._database.session() as session:
            existing = await session.scalar(select(Payment).where(Payment.idempotency_key == key))
            if existing is None:  # a concurrent press made the same call: one row for both
                session.add(
                    Payment(
                        reservation_code=reservation.code,
                        gateway=gateway_name,
                        reference=link.reference,
                        amount=reservation.total,
                        currency=reservation.currency,
                        status=OPEN,
                        url=link.url,
                        idempotency_key=key,
                        created_at=now,
                        updated_at=now,
                    )
                )
        self.metrics.created.labels(gateway_name).inc()
        log.info("payment_link", gateway=gateway_name, reservation=pseudonym(reservation.code))
        return link

    async def apply(self, gateway_name: str, status: PaymentStatus) -> Settled:
        """Record what the gateway said of a payment and tell whom it concerns."""
        async with self._database.session() as session:
            payment = await self._locked_payment(session, gateway_name, status)
            if payment is None:
                log.warning("payment_unknown", gateway=gateway_name)
                return Settled("unknown")
            before, now = payment.status, self._now()
            if status.state == "paid" and before in (OPEN, "failed", "expired", CLOSED):
                matches = (status.amount, status.currency) == (payment.amount, payment.currency)
                payment.status = "paid" if matches else "flagged"
                payment.charge_reference = status.charge_reference or status.reference
                payment.receipt_url = status.receipt_url
                session.add(_ledger_payment(payment, status, now))
            elif status.state in ("failed", "expired") and before == OPEN:
                payment.status = status.state
            payment.updated_at = now
            after, payment_id, code = payment.status, payment.id, payment.reservation_code
        if after == DUPLICATE:
            return Settled("duplicate", payment_id)
        if after == "flagged":
            if before != "flagged":
                await self._flag(gateway_name, payment_id, code, status)
            return Settled("flagged", payment_id)
        if after == "paid":
            confirmed = await self._confirm(gateway_name, payment_id, code, before, status)
            return Settled(confirmed, payment_id)
        if after != before:
            await self._tell_unpaid(gateway_name, code, after)
            return Settled("failed" if after == "failed" else "expired", payment_id)
        return Settled("pending", payment_id)

    async def record_sandbox_payment(self, reservation: Reservation) -> None:
        """The sandbox page took the money itself (it refuses a hold that ran out): the
        payment and its ledger row, on the link the guest was given or a new row."""
        reference, now = f"sandbox-{reservation.code}", self._now()
        async with self._database.session() as session:
            payment = await session.scalar(
                select(Payment)
                .where(Payment.gateway == SANDBOX, Payment.reference == reference)
                .order_by(Payment.id.desc())
                .limit(1)
            )
            if payment is None:
                payment = Payment(
                    reservation_code=reservation.code,
                    gateway=SANDBOX,
                    reference=reference,
                    amount=reservation.total,
                    currency=reservation.currency,
                    status=OPEN,
                    url="",
                    idempotency_key=f"pay-{reservation.code}-sandbox-page",
                    created_at=now,
                    updated_at=now,
                )
                session.add(payment)
                await session.flush()
            if payment.status == "paid":
                return
            payment.status, payment.charge_reference, payment.updated_at = "paid", reference, now
            status = PaymentStatus(
                reference,
                reservation.code,
                "paid",
                reservation.total,
                reservation.currency,
                reference,
            )
            session.add(_ledger_payment(payment, status, now))
        self.metrics.succeeded.labels(SANDBOX).inc()
        await self._after_confirmation(reservation.code, payment.id)

    async def latest(self, code: str, gateway_name: str) -> Payment | None:
        async with self._database.session() as session:
            return await session.scalar(
                select(Payment)
                .where(Payment.reservation_code == code.upper(), Payment.gateway == gateway_name)
                .order_by(Payment.id.desc())
                .limit(1)
            )

    async def paid_payment(self, code: str) -> Payment | None:
        async with self._database.session() as session:
            return await session.scalar(
                select(Payment)
                .where(
                    Payment.reservation_code == code.upper(),
                    Payment.status.in_(("paid", "flagged")),
                )
                .order_by(Payment.id.desc())
                .limit(1)
            )

    async def _confirm(
        self, gateway_name: str, payment_id: int, code: str, before: str, status: PaymentStatus
    ) -> Applied:
        try:
            reservation, first = await self._reservations.confirm_payment(
                code, f"gateway:{gateway_name}"
            )
        except (HoldExpired, IllegalTransition):
            # The money came after the hold ran out (or the reservation was cancelled): it is
            # given back whole, once, however often this payment is reported.
            if before != "paid" and self.on_late_payment is not None:
                await self.on_late_payment(payment_id)
            return "late"
        except NotFound:
            return "unknown"
        if first:
            self.metrics.succeeded.labels(gateway_name).inc()
            await self._tell_confirmed(reservation, status.receipt_url)
            await self._after_confirmation(code, payment_id)
            return "confirmed"
        if payment_id in await self._settle_duplicates(code):
            return "duplicate"
        return "already"

    async def confirm_again(self, reservation: Reservation) -> bool:
        """Tell the guest again that their payment came and the reservation is confirmed, with
        the kept payment's receipt; False when it is not a paid, confirmed reservation."""
        payment = await self.paid_payment(reservation.code)
        if payment is None or reservation.state != CONFIRMED:
            return False
        await self._tell_confirmed(reservation, payment.receipt_url)
        return True

    async def _tell_confirmed(self, reservation: Reservation, receipt_url: str | None) -> None:
        await self._notices.guest(reservation, "booking/confirmed", {"receipt_url": receipt_url})

    async def _after_confirmation(self, code: str, payment_id: int) -> None:
        await self.close_other_links(code, payment_id)
        await self._settle_duplicates(code)  # a payment recorded while this one confirmed

    async def close_other_links(self, code: str, kept_payment_id: int) -> None:
        """The reservation is paid: every other link still open is closed at its gateway (where
        the API allows it) and here, so that the guest cannot pay it a second time."""
        async with self._database.session() as session:
            links = list(
                await session.scalars(
                    select(Payment).where(
                        Payment.reservation_code == code,
                        Payment.status == OPEN,
                        Payment.id != kept_payment_id,
                    )
                )
            )
        for link in links:
            with self.metrics.loops.isolated("close_links"):
                await self._close(link)

    async def _close(self, link: Payment) -> None:
        try:
            await self.gateways[link.gateway].expire_link(link.reference, link.reservation_code)
        except GatewayError as error:
            # Refused (already paid, say) or unreachable: closed here all the same, and a
            # payment that comes through it is refunded as a duplicate.
            log.warning(
                "link_close_refused", gateway=link.gateway, status=error.status, code=error.code
            )
        async with self._database.session() as session:
            await session.execute(
                update(Payment)
                .where(Payment.id == link.id, Payment.status == OPEN)
                .values(status=CLOSED, updated_at=self._now())
            )

    async def _settle_duplicates(self, code: str) -> list[int]:
        """Keep one payment of a reservation, the first the ledger recorded; any other one
        paid is marked duplicate and refunded whole. Under the reservation's row lock, so two
        notifications at once keep the same one; the ids this call marked."""
        async with self._database.session() as session:
            lock = select(Reservation.id).where(Reservation.code == code)
            if not self._database.is_sqlite:
                lock = lock.with_for_update()
            await session.execute(lock)
            first_recorded = (
                select(LedgerEntry.payment_id, func.min(LedgerEntry.id).label("first"))
                .where(LedgerEntry.reservation_code == code, LedgerEntry.kind == "payment")
                .group_by(LedgerEntry.payment_id)
                .subquery()
            )
            paid = list(
                await session.scalars(
                    select(Payment)
                    .join(first_recorded, first_recorded.c.payment_id == Payment.id)
                    .where(Payment.status == "paid")
                    .order_by(first_recorded.c.first)
                )
            )
            for extra in paid[1:]:
                extra.status, extra.updated_at = DUPLICATE, self._now()
            marked = [extra.id for extra in paid[1:]]
        for payment_id in marked:
            self.metrics.duplicates.labels(self._gateway_of(paid, payment_id)).inc()
            log.warning("payment_duplicate", payment=payment_id, reservation=pseudonym(code))
            if self.on_duplicate_payment is not None:
                await self.on_duplicate_payment(payment_id)
        return marked

    @staticmethod
    def _gateway_of(payments: list[Payment], payment_id: int) -> str:
        return next(p.gateway for p in payments if p.id == payment_id)

    async def _tell_unpaid(self, gateway_name: str, code: str, state: str) -> None:
        self.metrics.failed.labels(gateway_name).inc()
        try:
            reservation = await self._reservations.by_code(code)
        except NotFound:
            return
        if reservation.state not in ("held", "pending_payment"):
            return  # expired or cancelled: that was told when it happened
        template = "booking/payment_failed" if state == "failed" else "payments/link_expired"
        await self._notices.guest(reservation, template, choices=(pay_again(code),))

    async def _flag(
        self, gateway_name: str, payment_id: int, code: str, status: PaymentStatus
    ) -> None:
        self.metrics.flagged.labels(gateway_name).inc()
        log.warning("payment_flagged", gateway=gateway_name, payment=payment_id)
        payment = await self._payment(payment_id)
        assert payment is not None
        refund_all = Choice(
            "staff_refund_all", payload=button_payload("refund_flagged", id=payment_id)
        )
        await self._notices.staff(
            flagged_key(payment_id),
            "warning",
            Outcome(
                "payments/staff_flagged",
                {
                    "code": code,
                    "gateway": gateway_name,
                    "expected": payment.amount,
                    "expected_currency": payment.currency,
                    "received": status.amount,
                    "received_currency": status.currency or payment.currency,
                },
                (refund_all,),
            ),
        )

    async def _payment(self, payment_id: int) -> Payment | None:
        async with self._database.session() as session:
            return await session.get(Payment, payment_id)

    async def _locked_payment(
        self, session: AsyncSession, gateway_name: str, status: PaymentStatus
    ) -> Payment | None:
        by_reference = select(Payment).where(
            Payment.gateway == gateway_name, Payment.reference == status.reference
        )
        # Mercado Pago notifies the payment, not the preference the link was made from: the
        # reservation code the gateway carries (external reference) names the link then.
        by_code = (
            select(Payment)
            .where(
                Payment.gateway == gateway_name,
                Payment.reservation_code == (status.reservation_code or ""),
            )
            .order_by(Payment.id.desc())
            .limit(1)
        )
        for query in (by_reference, by_code):
            if not self._database.is_sqlite:
                query = query.with_for_update()
            payment = await session.scalar(query)
            if payment is not None:
                return payment
        return None


def _ledger_payment(payment: Payment, status: PaymentStatus, at: datetime) -> LedgerEntry:
    return LedgerEntry(
        reservation_code=payment.reservation_code,
        payment_id=payment.id,
        refund_id=None,
        kind="payment",
        gateway=payment.gateway,
        gateway_reference=status.charge_reference or status.reference,
        amount=status.amount,
        currency=status.currency or payment.currency,
        idempotency_key=payment.idempotency_key,
        details={"link": payment.reference, "matches": payment.status == "paid"},
        at=at,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
