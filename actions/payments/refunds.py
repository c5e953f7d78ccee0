"""Refunds: by the cancellation policy through the gateway that took the money, and the staff's
approval for large ones and for requests outside the policy.

A refund is a row first (``requested`` or ``approved``), then a gateway call whose idempotency
key is the row's, so a retry never pays twice; ``paid`` adds a ledger row. Every step is told
to the guest; a request waiting for approval is sent to the staff channel with approve/deny
buttons (``intent:refund_approve|id=N``, ``intent:refund_deny|id=N``), and the admin REST
endpoint lists and decides the same requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.booking.errors import NotFound
from actions.booking.reservations import Reservations
from actions.payments.gateway import GatewayError
from actions.payments.notices import (
    Notices,
    flagged_key,
    paid_twice_key,
    refund_failed_key,
    review_key,
)
from actions.payments.service import PaymentService
from actions.payments.tables import LedgerEntry, Payment, Refund
from bot.core.buttons import button_payload
from bot.core.clock import Now
from bot.core.observability import pseudonym
from bot.core.types import Choice, Outcome
from bot.stores.database import Database

log = structlog.get_logger("rsv360.payments")

Reason = Literal["cancellation", "guest_request", "hold_expired", "flagged", "duplicate"]
Decision = Literal["paid", "failed", "denied", "unknown", "decided"]


class Refunds:
    def __init__(
        self,
        database: Database,
        reservations: Reservations,
        payments: PaymentService,
        notices: Notices,
        approval_above: int,
        now: Now,
    ) -> None:
        self._database = database
        self._reservations = reservations
        self._payments = payments
        self._notices = notices
        self._approval_above = approval_above
        self._now = now

    async def refundable(self, code: str) -> tuple[Payment, int] | None:
        """The payment that took the money and what of it is not given back or promised yet."""
        payment = await self._payments.paid_payment(code)
        if payment is None:
            return None
        return payment, await self._left(payment.id)

    async def request(
        self, code: str, amount: int | None, reason: Reason, actor: str, note: str | None = None
    ) -> Refund | None:
        """A refund of ``amount`` (all that is left when None); it goes to the staff when it is
        above the approval limit or outside the policy, else it is paid at once."""
        payment = await self._payments.paid_payment(code)
        if payment is None:
            return None
        needs_approval = reason == "guest_request" or (
            reason == "cancellation"
            and (amount if amount is not None else payment.amount) > self._approval_above
        )
        return await self._open(payment, amount, reason, actor, note, needs_approval)

    async def refund_payment(self, payment_id: int, actor: str) -> Refund | None:
        """All that is left of one payment back, at once (a flagged payment, on staff's word)."""
        async with self._database.session() as session:
            payment = await session.get(Payment, payment_id)
        if payment is None or payment.status not in ("paid", "flagged"):
            return None
        refund = await self._open(payment, None, "flagged", actor, None, needs_approval=False)
        if refund is not None:
            await self._notices.settled(flagged_key(payment_id))
        return refund

    async def _open(
        self,
        payment: Payment,
        amount: int | None,
        reason: Reason,
        actor: str,
        note: str | None,
        needs_approval: bool,
    ) -> Refund | None:
        left = await self._left(payment.id)
        amount = left if amount is None else min(amount, left)
        if amount <= 0:
            return None
        now = self._now()
        async with self._database.session() as session:
            number = await session.scalar(
                select(func.count()).select_from(Refund).where(Refund.payment_id == payment.id)
            )
            refund = Refund(
                reservation_code=payment.reservation_code,
                payment_id=payment.id,
                amount=amount,
                currency=payment.currency,
                state="requested" if needs_approval else "approved",
                reason=reason,
                guest_note=note[:500] if note else None,
                decided_by=None if needs_approval else actor,
                idempotency_key=f"refund-{payment.id}-{(number or 0) + 1}",
                created_at=now,
                updated_at=now,
            )
            session.add(refund)
        self._payments.metrics.refunds.labels(payment.gateway, refund.state).inc()
        log.info(
            "refund_opened",
            refund=refund.id,
            reason=reason,
            approval=needs_approval,
            reservation=pseudonym(payment.reservation_code),
        )
        if needs_approval:
            await self._tell_guest(refund, "payments/refund_requested")
            await self._notices.staff(
                review_key(refund.id), "warning", _review(refund, payment.gateway)
            )
            return refund
        await self._pay(refund.id)
        return await self.get(refund.id)

    async def _left(self, payment_id: int) -> int:
        """What the gateway took (ledger), less what was given back or is being decided."""
        async with self._database.session() as session:
            booked = await session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                    LedgerEntry.payment_id == payment_id
                )
            )
            open_ = await session.scalar(
                select(func.coalesce(func.sum(Refund.amount), 0)).where(
                    Refund.payment_id == payment_id, Refund.state.in_(("requested", "approved"))
                )
            )
        return int(booked or 0) - int(open_ or 0)

    async def approve(self, refund_id: int, actor: str) -> Decision:
        refund = await self._decide(refund_id, "approved", actor)
        if not isinstance(refund, Refund):
            return refund
        log.info("refund_approved", refund=refund_id, by=pseudonym(actor))
        await self._notices.settled(review_key(refund_id))
        await self._tell_guest(refund, "payments/refund_approved")
        return await self._pay(refund_id)

    async def deny(self, refund_id: int, actor: str, note: str) -> Decision:
        refund = await self._decide(refund_id, "denied", actor, note[:500])
        if not isinstance(refund, Refund):
            return refund
        log.info("refund_denied", refund=refund_id, by=pseudonym(actor))
        await self._notices.settled(review_key(refund_id))
        await self._duplicate_settled(refund)
        await self._tell_guest(refund, "payments/refund_denied", {"reason": refund.decision_note})
        return "denied"

    async def _decide(
        self, refund_id: int, state: str, actor: str, note: str | None = None
    ) -> Refund | Literal["unknown", "decided"]:
        """Staff's word on a requested refund, once: a second decision changes nothing."""
        async with self._database.session() as session:
            refund = await self._locked(session, refund_id)
            if refund is None:
                return "unknown"
            if refund.state != "requested":
                return "decided"
            refund.state, refund.decided_by, refund.updated_at = state, actor, self._now()
            if note is not None:
                refund.decision_note = note
        return refund

    async def refund_late_payment(self, payment_id: int) -> None:
        """Money that came for a hold already gone: all of it back, no approval needed."""
        async with self._database.session() as session:
            payment = await session.get(Payment, payment_id)
        if payment is None or await self._left(payment.id) <= 0:
            return
        try:
            reservation = await self._reservations.by_code(payment.reservation_code)
        except NotFound:
            return
        late = {"refund": await self._left(payment.id), "refund_currency": payment.currency}
        await self._notices.guest(reservation, "payments/paid_late", late)
        await self._open(payment, None, "hold_expired", "system", None, needs_approval=False)

    async def refund_duplicate(self, payment_id: int) -> None:
        """A second payment of a reservation already paid: all of it back, at once unless it
        is above the approval limit; the guest and the staff are told."""
        async with self._database.session() as session:
            payment = await session.get(Payment, payment_id)
        left = await self._left(payment_id) if payment is not None else 0
        if payment is None or left <= 0:
            return
        try:
            reservation = await self._reservations.by_code(payment.reservation_code)
        except NotFound:
            return
        twice = {"refund": left, "refund_currency": payment.currency}
        await self._notices.guest(reservation, "payments/paid_twice", twice)
        refund = await self._open(
            payment, None, "duplicate", "system", None, needs_approval=left > self._approval_above
        )
        if refund is not None:
            await self._notices.staff(
                paid_twice_key(payment_id),
                "info",
                Outcome(
                    "payments/staff_paid_twice",
                    {
                        "id": refund.id,
                        "code": payment.reservation_code,
                        "gateway": payment.gateway,
                        "amount": left,
                        "currency": payment.currency,
                    },
                ),
            )
            if refund.state != "requested":  # below the approval limit: refunded at once
                await self._duplicate_settled(refund)

    async def pending(self) -> list[Refund]:
        async with self._database.session() as session:
            found = await session.scalars(
                select(Refund).where(Refund.state == "requested").order_by(Refund.id)
            )
            return list(found)

    async def get(self, refund_id: int) -> Refund | None:
        async with self._database.session() as session:
            return await session.get(Refund, refund_id)

    async def of_reservations(self, codes: Sequence[str]) -> list[Refund]:
        async with self._database.session() as session:
            found = await session.scalars(
                select(Refund).where(Refund.reservation_code.in_(codes)).order_by(Refund.id)
            )
            return list(found)

    async def _pay(self, refund_id: int) -> Decision:
        async with self._database.session() as session:
            refund = await self._locked(session, refund_id)
            if refund is None or refund.state != "approved":
                return "decided"
            payment = await session.get_one(Payment, refund.payment_id)
        gateway = self._payments.gateways[payment.gateway]
        try:
            result = await gateway.refund(
                payment.charge_reference or payment.reference,
                refund.amount,
                refund.currency,
                refund.idempotency_key,
            )
        except GatewayError as error:
            log.warning(
                "refund_failed",
                refund=refund_id,
                gateway=payment.gateway,
                status=error.status,
                code=error.code,
            )
            await self._finish(refund_id, "failed", None)
            self._payments.metrics.refunds.labels(payment.gateway, "failed").inc()
            await self._duplicate_settled(refund)  # the failure's own alert takes over
            await self._notices.staff(
                refund_failed_key(refund_id),
                "warning",
                Outcome(
                    "payments/staff_refund_failed",
                    {
                        "code": refund.reservation_code,
                        "id": refund_id,
                        "amount": refund.amount,
                        "currency": refund.currency,
                        "gateway": payment.gateway,
                    },
                ),
            )
            return "failed"
        await self._finish(refund_id, "paid", result.reference, payment)
        self._payments.metrics.refunds.labels(payment.gateway, "paid").inc()
        await self._duplicate_settled(refund)
        await self._tell_guest(refund, "payments/refund_paid")
        return "paid"

    async def _duplicate_settled(self, refund: Refund) -> None:
        """A duplicate payment's refund is paid, failed or denied: its "paid twice" alert
        resolves (when it was told already; else the teller settles it right after)."""
        if refund.reason == "duplicate":
            await self._notices.settled(paid_twice_key(refund.payment_id))

    async def _finish(
        self, refund_id: int, state: str, reference: str | None, payment: Payment | None = None
    ) -> None:
        async with self._database.session() as session:
            refund = await session.get_one(Refund, refund_id)
            refund.state, refund.gateway_reference = state, reference
            refund.updated_at = self._now()
            if payment is not None and reference is not None:
                session.add(
                    LedgerEntry(
                        reservation_code=refund.reservation_code,
                        payment_id=payment.id,
                        refund_id=refund.id,
                        kind="refund",
                        gateway=payment.gateway,
                        gateway_reference=reference,
                        amount=-refund.amount,
                        currency=refund.currency,
                        idempotency_key=refund.idempotency_key,
                        details={"reason": refund.reason},
                        at=self._now(),
                    )
                )

    async def _locked(self, session: AsyncSession, refund_id: int) -> Refund | None:
        query = select(Refund).where(Refund.id == refund_id)
        if not self._database.is_sqlite:
            query = query.with_for_update()
        return await session.scalar(query)

    async def _tell_guest(
        self, refund: Refund, template: str, extra: dict[str, object] | None = None
    ) -> None:
        try:
            reservation = await self._reservations.by_code(refund.reservation_code)
        except NotFound:
            return
        await self._notices.guest(
            reservation,
            template,
            {"refund": refund.amount, "refund_currency": refund.currency, **(extra or {})},
        )


def _review(refund: Refund, gateway: str) -> Outcome:
    return Outcome(
        "payments/staff_refund_review",
        {
            "id": refund.id,
            "code": refund.reservation_code,
            "amount": refund.amount,
            "currency": refund.currency,
            "reason": refund.reason,
            "note": refund.guest_note or "",
            "gateway": gateway,
        },
        (
            Choice("refund_approve", payload=button_payload("refund_approve", id=refund.id)),
            Choice("refund_deny", payload=button_payload("refund_deny", id=refund.id)),
        ),
    )
