"""Tables of the money: payments asked for, webhook events received, refunds and the ledger.

Amounts are in minor units (centavos, cents), like the reservations' totals. The ledger holds
one row per money movement that a gateway confirmed; (gateway, kind, gateway_reference) is unique
so that a movement is recorded once however often it is reported.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from actions.tables import Base


class Payment(Base):
    """A payment link given to a guest, and what became of it: ``created`` → ``paid``,
    ``failed``, ``expired`` or ``flagged`` (paid, but not what the reservation asked for)."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_reservation", "reservation_code", "gateway"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_code: Mapped[str] = mapped_column(String(10))
    gateway: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(100))
    """The gateway's id of the link: Checkout Session, preference or Pix payment, order."""
    charge_reference: Mapped[str | None] = mapped_column(String(100))
    """The gateway's id of the money taken, which refunds name (payment intent, capture...)."""
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(2000))
    receipt_url: Mapped[str | None] = mapped_column(String(2000))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookEvent(Base):
    """A verified notification, stored before it is applied; ``applied_at`` stays empty until
    it was, so that the upkeep applies what a crash interrupted."""

    __tablename__ = "payment_webhook_events"
    __table_args__ = (
        UniqueConstraint("gateway", "event_id"),
        Index("ix_payment_webhook_events_pending", "applied_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(80))
    reference: Mapped[str] = mapped_column(String(100))
    """What to fetch from the gateway to learn the truth (the body is never trusted for it)."""
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(default=0)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(40))


class Refund(Base):
    """Money to give back: ``requested`` (waits for staff) → ``approved`` → ``paid`` or
    ``failed``; or ``denied`` with a reason."""

    __tablename__ = "refunds"
    __table_args__ = (Index("ix_refunds_reservation", "reservation_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_code: Mapped[str] = mapped_column(String(10))
    payment_id: Mapped[int]
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    """Why it is due: ``cancellation`` (by the policy), ``guest_request``, ``hold_expired``."""
    guest_note: Mapped[str | None] = mapped_column(String(500))
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decision_note: Mapped[str | None] = mapped_column(String(500))
    gateway_reference: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerEntry(Base):
    """One movement of money a gateway confirmed: ``payment`` (positive) or ``refund``."""

    __tablename__ = "ledger"
    __table_args__ = (
        UniqueConstraint("gateway", "kind", "gateway_reference"),
        Index("ix_ledger_reservation", "reservation_code"),
        Index("ix_ledger_at", "at", "kind"),  # the console's takings of the day
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_code: Mapped[str] = mapped_column(String(10))
    payment_id: Mapped[int]
    refund_id: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(10))
    gateway: Mapped[str] = mapped_column(String(20))
    gateway_reference: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SandboxMovement(Base):
    """Money the built-in sandbox took (``capture``) or gave back (``refund``): what its
    "account" holds, so that its status comes from what it moved and from nothing else."""

    __tablename__ = "sandbox_movements"
    __table_args__ = (Index("ix_sandbox_movements_reservation", "reservation_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_code: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    """``sandbox-<code>`` for the capture, ``sandbox-<refund key>`` for a refund: one each."""
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Reconciliation(Base):
    """One run of the reconciliation with the gateways, and the differences it found (the
    console shows the last one)."""

    __tablename__ = "reconciliations"
    __table_args__ = (Index("ix_reconciliations_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    differences: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """Each difference as ``reconcile.Difference``'s fields."""
