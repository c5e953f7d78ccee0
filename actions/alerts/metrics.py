"""Prometheus metrics of the alerts, registered on the runtime's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.raised = Counter(
            "rsv_alerts",
            "Alerts raised or resolved, by type, severity and status",
            ["type", "severity", "status"],
            registry=registry,
        )
        self.deliveries = Counter(
            "rsv_alert_deliveries",
            "Alert deliveries by result: sent, updated, retried, failed, fallback, undelivered, "
            "quiet, throttled, silenced, grouped",
            ["result"],
            registry=registry,
        )

    def count(self, result: str, amount: int = 1) -> None:
        self.deliveries.labels(result).inc(amount)
