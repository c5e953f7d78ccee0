"""What must hold of the money, reservation by reservation, checked over the whole database.

- ``ledger_vs_gateway``: for every payment that took money, the ledger's payments and refunds
  are what its gateway holds now (asked through its API; the sandbox's API is its own table).
- ``kept_payment``: a confirmed reservation keeps exactly one payment; any other paid one is a
  duplicate, and an unconfirmed reservation keeps none.
- ``refund_owed``: money that is not kept (a duplicate, a late payment) is refunded whole, or
  its refund waits for staff or was denied by them; a cancelled reservation's refunds are what
  the policy gave when it was cancelled (capped at what was paid).

``rsv360 payments check`` prints each violation and exits 1. Flagged payments (amount or
currency wrong) are the staff's and are left out of the last two rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from actions.booking.tables import Reservation, ReservationEvent
from actions.payments.gateway import Gateway, GatewayError, status_lookup
from actions.payments.tables import LedgerEntry, Payment, Refund
from bot.core.loops import LoopFailures
from bot.stores.database import Database

KEPT = "paid"
MONEY_STATES = ("paid", "flagged", "duplicate")
COUNTED_REFUNDS = ("requested", "approved", "paid", "denied")
"""Refunds that answer for money owed: done, on their way, or refused by a person."""


@dataclass(frozen=True, slots=True)
class Violation:
    reservation_code: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.reservation_code}: {self.rule}: {self.detail}"


@dataclass
class _Money:
    paid: int = 0
    refunded: int = 0
    """Positive: what the ledger says was given back."""


async def check(
    database: Database, gateways: Mapping[str, Gateway], loops: LoopFailures
) -> list[Violation]:
    async with database.session() as session:
        reservations = {
            code: (state, refund_due)
            for code, state, refund_due in await session.execute(
                select(Reservation.code, Reservation.state, Reservation.refund_due)
            )
        }
        cancelled_at = {
            code: _aware(at)
            for code, at in await session.execute(
                select(Reservation.code, func.min(ReservationEvent.at))
                .join(ReservationEvent, ReservationEvent.reservation_id == Reservation.id)
                .where(ReservationEvent.to_state == "cancelled")
                .group_by(Reservation.code)
            )
        }
        paid_at = {
            payment_id: _aware(at)
            for payment_id, at in await session.execute(
                select(LedgerEntry.payment_id, func.min(LedgerEntry.at))
                .where(LedgerEntry.kind == "payment")
                .group_by(LedgerEntry.payment_id)
            )
        }
        payments = list(await session.scalars(select(Payment).order_by(Payment.id)))
        refunds = list(await session.scalars(select(Refund).order_by(Refund.id)))
        ledger: dict[int, _Money] = defaultdict(_Money)
        for payment_id, kind, total in await session.execute(
            select(LedgerEntry.payment_id, LedgerEntry.kind, func.sum(LedgerEntry.amount)).group_by(
                LedgerEntry.payment_id, LedgerEntry.kind
            )
        ):
            if kind == "payment":
                ledger[payment_id].paid = int(total)
            else:
                ledger[payment_id].refunded = -int(total)
    by_code: dict[str, list[Payment]] = defaultdict(list)
    for payment in payments:
        by_code[payment.reservation_code].append(payment)
    refunds_of: dict[int, list[Refund]] = defaultdict(list)
    for refund in refunds:
        refunds_of[refund.payment_id].append(refund)
    violations: list[Violation] = []
    for code, (state, refund_due) in sorted(reservations.items()):
        rows = by_code.get(code, [])
        violations += _kept(code, state, rows)
        # Money that came after the cancellation was never the policy's: it is owed whole.
        late = {
            p.id
            for p in rows
            if code in cancelled_at and p.id in paid_at and paid_at[p.id] > cancelled_at[code]
        }
        violations += _owed(code, state, refund_due, rows, ledger, refunds_of, late)
    for payment in payments:
        if payment.id in ledger or payment.status in MONEY_STATES:
            checked = False
            with loops.isolated("payments_check"):
                found = await _against_gateway(payment, ledger[payment.id], gateways)
                checked = True
            if not checked:
                unread = f"payment {payment.id}: the gateway's answer could not be read"
                found = Violation(payment.reservation_code, "ledger_vs_gateway", unread)
            if found is not None:
                violations.append(found)
    return violations


def _kept(code: str, state: str, rows: list[Payment]) -> list[Violation]:
    kept = [payment.id for payment in rows if payment.status == KEPT]
    if state == "confirmed" and len(kept) != 1:
        return [Violation(code, "kept_payment", f"confirmed, keeps payments {kept}")]
    return []  # money that came for an unconfirmed reservation is the next rule's


def _owed(
    code: str,
    state: str,
    refund_due: int | None,
    rows: list[Payment],
    ledger: Mapping[int, _Money],
    refunds_of: Mapping[int, list[Refund]],
    late: set[int],
) -> list[Violation]:
    violations = []
    for payment in rows:
        money = ledger.get(payment.id, _Money())
        answered = sum(
            r.amount for r in refunds_of.get(payment.id, []) if r.state in COUNTED_REFUNDS
        )
        if (
            payment.status == "duplicate"
            or payment.id in late
            or (payment.status == KEPT and state in ("expired", "held", "pending_payment"))
        ):
            if answered != money.paid:
                violations.append(
                    Violation(
                        code,
                        "refund_owed",
                        f"payment {payment.id} "
                        f"({payment.status}, {state}) took {money.paid}, "
                        f"refunds answer for {answered}",
                    )
                )
        elif payment.status == KEPT and state == "cancelled":
            by_policy = sum(
                r.amount
                for r in refunds_of.get(payment.id, [])
                if r.state in COUNTED_REFUNDS and r.reason == "cancellation"
            )
            due = min(refund_due or 0, money.paid)
            if by_policy != due:
                violations.append(
                    Violation(
                        code,
                        "refund_owed",
                        f"cancelled: the policy gives {due}, refunds by it {by_policy}",
                    )
                )
    return violations


async def _against_gateway(
    payment: Payment, money: _Money, gateways: Mapping[str, Gateway]
) -> Violation | None:
    gateway = gateways.get(payment.gateway)
    lookup = status_lookup(gateway, payment.reference, payment.charge_reference)
    if gateway is None or lookup is None:
        return Violation(
            payment.reservation_code,
            "ledger_vs_gateway",
            f"payment {payment.id}: {payment.gateway} cannot be asked",
        )
    try:
        status = await gateway.status(lookup)
    except GatewayError as error:
        return Violation(
            payment.reservation_code,
            "ledger_vs_gateway",
            f"payment {payment.id}: {payment.gateway} answered {error.status or 'nothing'}",
        )
    held = status.amount if status.state == "paid" else 0
    if (held, status.refunded) == (money.paid, money.refunded):
        return None
    return Violation(
        payment.reservation_code,
        "ledger_vs_gateway",
        f"payment {payment.id} at {payment.gateway}: ledger paid {money.paid} "
        f"refunded {money.refunded}, gateway holds paid {held} "
        f"refunded {status.refunded}",
    )


async def count_reservations(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Reservation)) or 0)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite: naive UTC
