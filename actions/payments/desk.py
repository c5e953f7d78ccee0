"""What the payment channels reach: webhooks and returns (``channels.payment_webhooks``) and
refund decisions (``channels.payment_admin``), satisfied by the payments domain."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from actions.booking.errors import NotFound
from actions.booking.reservations import Reservations
from actions.payments.checkout import Checkout, checkout_of
from actions.payments.gateway import GatewayError
from actions.payments.refunds import Refunds
from actions.payments.sandbox import SandboxCheckout
from actions.payments.service import PaymentService
from actions.payments.tables import LedgerEntry, Reconciliation
from actions.payments.webhooks import Received, WebhookInbox
from bot.core.clock import Now
from bot.stores.database import Database, as_utc


class PaymentsDesk:
    def __init__(
        self,
        database: Database,
        reservations: Reservations,
        payments: PaymentService,
        refunds: Refunds,
        inbox: WebhookInbox,
        links: SandboxCheckout,
        now: Now,
    ) -> None:
        self._database = database
        self._reservations = reservations
        self._payments = payments
        self._refunds = refunds
        self._inbox = inbox
        self._links = links
        self._now = now

    async def receive(self, gateway: str, headers: Mapping[str, str], body: bytes) -> Received:
        return await self._inbox.receive(gateway, headers, body)

    async def returned(self, gateway: str, token: str, query: Mapping[str, str]) -> Checkout | None:
        """The payer is back from the gateway's page: ask the gateway now rather than wait for
        the webhook (a PayPal order, named in the return URL, is captured here; the webhook then
        finds it done)."""
        code = self._links.code_of(token)
        implementation = self._payments.gateways.get(gateway)
        if code is None or implementation is None:
            return None
        payment = await self._payments.latest(code, gateway)
        named = implementation.return_parameter
        reference = query.get(named) if named else None
        reference = reference or (payment.reference if payment else None)
        if reference:
            try:
                status = await implementation.status(reference[:100])
                if status.reservation_code == code:  # a link for one booking names no other
                    await self._payments.apply(gateway, status)
            except GatewayError:
                pass  # the webhook will bring it; the page shows the reservation as it is
        try:
            return checkout_of(await self._reservations.by_code(code), self._now())
        except NotFound:
            return None

    async def pending_refunds(self) -> list[dict[str, Any]]:
        return [
            {
                "id": r.id,
                "reservation": r.reservation_code,
                "amount": r.amount,
                "currency": r.currency,
                "reason": r.reason,
                "note": r.guest_note,
                "requested_at": r.created_at.isoformat(),
            }
            for r in await self._refunds.pending()
        ]

    async def approve_refund(self, refund_id: int, actor: str) -> str:
        return await self._refunds.approve(refund_id, actor)

    async def deny_refund(self, refund_id: int, actor: str, reason: str) -> str:
        return await self._refunds.deny(refund_id, actor, reason)

    async def ledger(
        self,
        *,
        gateway: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        reservation: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Ledger rows, the latest first, filtered by what is given (``until`` excluded)."""
        query = select(LedgerEntry).order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc())
        if gateway is not None:
            query = query.where(LedgerEntry.gateway == gateway)
        if kind is not None:
            query = query.where(LedgerEntry.kind == kind)
        if since is not None:
            query = query.where(LedgerEntry.at >= since)
        if until is not None:
            query = query.where(LedgerEntry.at < until)
        if reservation is not None:
            query = query.where(LedgerEntry.reservation_code == reservation)
        async with self._database.session() as session:
            rows = await session.scalars(query.offset(offset).limit(limit))
            return [
                {
                    "id": row.id,
                    "at": as_utc(row.at),
                    "reservation": row.reservation_code,
                    "kind": row.kind,
                    "gateway": row.gateway,
                    "reference": row.gateway_reference,
                    "amount": row.amount,
                    "currency": row.currency,
                }
                for row in rows
            ]

    async def last_reconciliation(self) -> dict[str, Any] | None:
        """When the reconciliation last ran and the differences it found; None before any."""
        async with self._database.session() as session:
            last = await session.scalar(
                select(Reconciliation)
                .order_by(Reconciliation.at.desc(), Reconciliation.id.desc())
                .limit(1)
            )
        if last is None:
            return None
        return {"at": as_utc(last.at), "differences": last.differences}
