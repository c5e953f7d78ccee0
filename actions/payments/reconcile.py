"""Reconciliation: the ledger's totals per payment against what the gateway's API says now.

A difference is a payment the gateway took but the ledger lacks (a lost notification), a ledger
payment the gateway does not confirm, or refunds that do not add up. The sandbox is its own
ledger and is not compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from actions.payments.gateway import GatewayError
from actions.payments.service import PaymentService
from actions.payments.tables import LedgerEntry, Payment
from bot.database import Database

RECENT_UNPAID_DAYS = 3
"""Links younger than this that the ledger holds as unpaid are asked about too."""


@dataclass(frozen=True, slots=True)
class Difference:
    reservation_code: str
    gateway: str
    reference: str
    ledger_paid: int
    gateway_paid: int
    ledger_refunded: int
    gateway_refunded: int
    note: str


async def reconcile(
    database: Database,
    payments: PaymentService,
    progress: Callable[[list[Payment]], Iterable[Payment]] = lambda items: items,
) -> list[Difference]:
    since = datetime.now(UTC) - timedelta(days=RECENT_UNPAID_DAYS)
    async with database.session() as session:
        rows = list(await session.scalars(
            select(Payment).where(Payment.gateway != "sandbox",
                                  (Payment.status.in_(("paid", "flagged")))
                                  | (Payment.created_at >= since))
            .order_by(Payment.id)
        ))  # fmt: skip
        sums = {
            (payment_id, kind): int(total)
            for payment_id, kind, total in await session.execute(
                select(
                    LedgerEntry.payment_id, LedgerEntry.kind, func.sum(LedgerEntry.amount)
                ).group_by(LedgerEntry.payment_id, LedgerEntry.kind)
            )
        }
    differences = []
    for payment in progress(rows):
        gateway = payments.gateways.get(payment.gateway)
        paid = sums.get((payment.id, "payment"), 0)
        refunded = -sums.get((payment.id, "refund"), 0)
        lookup = payment.charge_reference if payment.gateway == "mercadopago" else payment.reference
        if gateway is None or lookup is None:
            if paid and gateway is None:
                differences.append(_difference(payment, paid, 0, refunded, 0, "gateway disabled"))
            continue
        try:
            status = await gateway.status(lookup)
        except GatewayError as error:
            note = f"gateway answered {error.status or 'nothing'}"
            differences.append(_difference(payment, paid, 0, refunded, 0, note))
            continue
        taken = status.amount if status.state == "paid" else 0
        if (taken, status.refunded) != (paid, refunded):
            note = "paid at the gateway, missing in the ledger" if taken and not paid else (
                "in the ledger, not paid at the gateway" if paid and not taken
                else "amounts differ")  # fmt: skip
            differences.append(_difference(payment, paid, taken, refunded, status.refunded, note))
    return differences


def _difference(
    payment: Payment, paid: int, taken: int, refunded: int, given: int, note: str
) -> Difference:
    return Difference(payment.reservation_code, payment.gateway, payment.reference, paid, taken,
                      refunded, given, note)  # fmt: skip
