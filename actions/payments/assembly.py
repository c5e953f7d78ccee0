"""The payment service assembled from settings: the gateways that have credentials, the
routes between them, and the refund desk. The bot's plug and the ``rsv360 payments`` commands
both build it here."""

from __future__ import annotations

from typing import Any

from actions.alerts.desk import AlertDesk
from actions.booking.reservations import Reservations
from actions.payments.gateway import Gateway
from actions.payments.mercadopago import MercadoPagoGateway
from actions.payments.metrics import PaymentMetrics
from actions.payments.notices import Notices
from actions.payments.paypal import PayPalGateway
from actions.payments.refunds import Refunds
from actions.payments.routing import Routes
from actions.payments.sandbox import SandboxCheckout, SandboxGateway
from actions.payments.service import PaymentService
from actions.payments.settings import PaymentsConfig
from bot.core.clock import Now
from bot.core.observability import Metrics
from bot.core.render import Renderer
from bot.outbound.proactive import Notifier
from bot.partners.client import PartnerClient
from bot.stores.database import Database


def sandbox_checkout(settings: PaymentsConfig, secret: str) -> SandboxCheckout:
    """The sandbox's signed payment links, valid for the hold and five minutes more."""
    return SandboxCheckout(secret, settings.base_url, settings.hold_minutes * 60 + 300)


def build_payments(
    settings: PaymentsConfig,
    database: Database,
    reservations: Reservations,
    checkout: SandboxCheckout,
    notifier: Notifier,
    metrics: Metrics,
    renderer: Renderer,
    default_locale: str,
    alerts: AlertDesk | None,
    partners: PartnerClient,
    now: Now,
) -> tuple[PaymentService, Refunds]:
    """The gateways that have credentials, the routes between them, and the refund desk; the
    staff hear of what needs them through ``alerts`` (none: it is only logged). The gateways
    call out through ``partners`` (limits, retries, breaker and metrics per gateway)."""
    counters = PaymentMetrics(metrics.registry, metrics.loops, metrics.webhook_verification)
    common: dict[str, Any] = {
        "tolerance_seconds": settings.payment.webhook_tolerance_seconds,
        "retries": settings.payment.gateway_retries,
        "timeout_seconds": settings.payment.gateway_timeout_seconds,
        "now": now,
    }
    gateways: dict[str, Gateway] = {
        "sandbox": SandboxGateway(checkout, reservations, database, now)
    }
    if settings.stripe.api_key and settings.stripe.webhook_secret:
        # stripe's SDK is imported only by workers that take Stripe payments.
        from actions.payments.stripe_gateway import StripeGateway

        gateways["stripe"] = StripeGateway(
            settings.stripe.api_key.get_secret_value(),
            settings.stripe.webhook_secret.get_secret_value(),
            counters,
            partners,
            api_base=settings.stripe.api_base,
            **common,
        )
    if settings.mercadopago.access_token and settings.mercadopago.webhook_secret:
        gateways["mercadopago"] = MercadoPagoGateway(
            settings.mercadopago.access_token.get_secret_value(),
            settings.mercadopago.webhook_secret.get_secret_value(),
            counters,
            partners,
            api_base=settings.mercadopago.api_base,
            **common,
        )
    if settings.paypal.client_id and settings.paypal.client_secret and settings.paypal.webhook_id:
        gateways["paypal"] = PayPalGateway(
            settings.paypal.client_id,
            settings.paypal.client_secret.get_secret_value(),
            settings.paypal.webhook_id,
            counters,
            partners,
            api_base=settings.paypal.api_base,
            **common,
        )
    notices = Notices(notifier, alerts, renderer.render, default_locale, now)

    def return_url(gateway: str, code: str) -> str:
        token = checkout.link_for(code).rsplit("/", 1)[-1]
        return f"{settings.base_url}/payments/return/{gateway}/{token}"

    for name in gateways:
        counters.watch(name)
    payments = PaymentService(
        database,
        reservations,
        gateways,
        Routes.parse(settings.payment.routes, gateways),
        notices,
        counters,
        return_url,
        now,
    )
    refunds = Refunds(
        database, reservations, payments, notices, settings.refund_approval_above, now
    )
    payments.on_late_payment = refunds.refund_late_payment
    payments.on_duplicate_payment = refunds.refund_duplicate
    return payments, refunds
