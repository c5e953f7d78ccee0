"""Reconciliation: the ledger's totals per payment against what the gateway's API says now.

A difference is a payment the gateway took but the ledger lacks (a lost notification), a ledger
payment the gateway does not confirm, or refunds that do not add up. A gateway that keeps its
own books in our database (the sandbox) is not compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from actions.payments.gateway import GatewayError, status_lookup
from actions.payments.service import PaymentService
from actions.payments.tables import LedgerEntry, Payment, Reconciliation
from bot.stores.database import Database

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
    now: datetime,
    progress: Callable[[list[Payment]], Iterable[Payment]] = lambda items: items,
) -> list[Difference]:
    since = now - timedelta(days=RECENT_UNPAID_DAYS)
    own_books = [name for name, gateway in payments.gateways.items() if gateway.keeps_own_books]
    async with database.session() as session:
        rows = list(
            await session.scalars(
                select(Payment)
                .where(
                    Payment.gateway.not_in(own_books),
                    (Payment.status.in_(("paid", "flagged"))) | (Payment.created_at >= since),
                )
                .order_by(Payment.id)
            )
        )
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
        paid = sums.get((payment.id, "payment"), 0)
        refunded = -sums.get((payment.id, "refund"), 0)
        checked = False
        with payments.metrics.loops.isolated("reconcile"):
            found = await _compare(payments, payment, paid, refunded)
            checked = True
        if not checked:  # an answer we could not read: reported, and the others still compared
            found = _difference(payment, paid, 0, refunded, 0, "could not be checked")
        if found is not None:
            differences.append(found)
    return differences


async def _compare(
    payments: PaymentService, payment: Payment, paid: int, refunded: int
) -> Difference | None:
    gateway = payments.gateways.get(payment.gateway)
    lookup = status_lookup(gateway, payment.reference, payment.charge_reference)
    if gateway is None or lookup is None:
        if paid and gateway is None:
            return _difference(payment, paid, 0, refunded, 0, "gateway disabled")
        return None
    try:
        status = await gateway.status(lookup)
    except GatewayError as error:
        note = f"gateway answered {error.status or 'nothing'}"
        return _difference(payment, paid, 0, refunded, 0, note)
    taken = status.amount if status.state == "paid" else 0
    if (taken, status.refunded) == (paid, refunded):
        return None
    note = (
        "paid at the gateway, missing in the ledger"
        if taken and not paid
        else ("in the ledger, not paid at the gateway" if paid and not taken else "amounts differ")
    )
    return _difference(payment, paid, taken, refunded, status.refunded, note)


def _difference(
    payment: Payment, paid: int, taken: int, refunded: int, given: int, note: str
) -> Difference:
    return Difference(
        payment.reservation_code,
        payment.gateway,
        payment.reference,
        paid,
        taken,
        refunded,
        given,
        note,
    )


async def keep(database: Database, differences: list[Difference], at: datetime) -> None:
    """Store this run (done ``at``) and what it found: the console shows the last one."""
    async with database.session() as session:
        session.add(Reconciliation(at=at, differences=[asdict(found) for found in differences]))
