"""Payments plug in: the payment service and refund desk (for the conversation and the
payment routes), the webhook inbox, the sandbox checkout, the payment conversation, and the
upkeep jobs (unapplied webhooks retried, the ledger reconciled with the gateways). What needs
the staff is raised on the alert desk (plugged before)."""

from __future__ import annotations

from actions.alerts.desk import AlertDesk
from actions.booking.reservations import Reservations
from actions.capability import Capability, Kit
from actions.payments.assembly import build_payments, sandbox_checkout
from actions.payments.conversation import create_router
from actions.payments.desk import PaymentsDesk
from actions.payments.sandbox import SandboxPayments
from actions.payments.settings import PaymentsConfig
from actions.payments.webhooks import WebhookInbox, payments_jobs


def plug(kit: Kit, settings: PaymentsConfig, secret: str) -> Capability:
    reservations = kit.services.get(Reservations)
    checkout = sandbox_checkout(settings, secret)
    payments, refunds = build_payments(
        settings,
        kit.database,
        reservations,
        checkout,
        kit.notifier,
        kit.metrics,
        kit.renderer,
        kit.default_locale,
        kit.services.get(AlertDesk),
        kit.partners,
        kit.now,
    )
    inbox = WebhookInbox(kit.database, payments, kit.now)
    kit.services.provide(
        payments,
        refunds,
        inbox,
        checkout,
        PaymentsDesk(kit.database, reservations, payments, refunds, inbox, checkout, kit.now),
        SandboxPayments(reservations, checkout, kit.notifier, payments, kit.now),
    )

    return Capability(
        create_router(), payments_jobs(inbox, kit.database, payments, kit.now), inbox.drain
    )
