"""Prometheus metrics of the payments, registered on the runtime's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.core.loops import LoopFailures
from bot.core.observability import WebhookVerification

REJECTIONS = ("signature", "stale", "malformed", "unverifiable")
FORGERIES = ("signature", "stale")
"""The rejections that are verification failures (counted for the security rule too)."""
"""Why a webhook is refused: each gateway's series exist from the start at 0, so the first
forgery is already an increase the alert rule sees (a series that appears with its first
count needs a second scrape before ``increase`` says anything)."""
_GATEWAY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class PaymentMetrics:
    def __init__(
        self,
        registry: CollectorRegistry,
        loops: LoopFailures | None = None,
        verification: WebhookVerification | None = None,
    ) -> None:
        self.loops = loops or LoopFailures(registry)
        self.verification = verification or WebhookVerification(registry)
        self.created = Counter(
            "rsv_payments_created", "Payment links made", ["gateway"], registry=registry
        )
        self.succeeded = Counter(
            "rsv_payments_succeeded", "Payments confirmed", ["gateway"], registry=registry
        )
        self.failed = Counter(
            "rsv_payments_failed", "Payments failed or expired", ["gateway"], registry=registry
        )
        self.flagged = Counter(
            "rsv_payments_flagged",
            "Payments whose amount or currency did not match the reservation",
            ["gateway"],
            registry=registry,
        )
        self.duplicates = Counter(
            "rsv_payments_duplicate",
            "Payments for a reservation another payment had already paid (refunded whole)",
            ["gateway"],
            registry=registry,
        )
        self.refunds = Counter(
            "rsv_refunds",
            "Refunds by the state they reached",
            ["gateway", "state"],
            registry=registry,
        )
        self.webhook_rejected = Counter(
            "rsv_payment_webhooks_rejected",
            "Webhooks refused (signature, replay, malformed)",
            ["gateway", "reason"],
            registry=registry,
        )
        self.webhooks = Counter(
            "rsv_payment_webhooks",
            "Webhooks stored or found duplicate",
            ["gateway", "result"],
            registry=registry,
        )
        self.reconcile_differences = Gauge(
            "rsv_payments_reconcile_differences",
            "Payments whose ledger differed from their gateway at the last reconciliation",
            registry=registry,
        )
        self.gateway_seconds = Histogram(
            "rsv_payment_gateway_seconds",
            "Time a gateway call took, retries included",
            ["gateway", "operation"],
            buckets=_GATEWAY_BUCKETS,
            registry=registry,
        )

    def watch(self, gateway: str) -> None:
        """The gateway's webhook rejections at 0 until the first one."""
        for reason in REJECTIONS:
            self.webhook_rejected.labels(gateway, reason)
        self.verification.watch(gateway, *FORGERIES)

    def rejected(self, gateway: str, reason: str) -> None:
        """A webhook refused; a bad signature or a stale timestamp is a verification failure."""
        self.webhook_rejected.labels(gateway, reason).inc()
        if reason in FORGERIES:
            self.verification.failed(gateway, reason)
