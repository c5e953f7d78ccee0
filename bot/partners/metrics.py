"""Metrics per partner API: calls and their results, latency, where answers came from (the
partner, the cache, a stale copy) and the breaker's state. Every configured API is exported at 0
from the start, so the first failure is an increase the ``api`` alert sees."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

RESULTS = (
    "ok",
    "timeout",
    "unreachable",
    "server_error",
    "throttled",
    "client_error",
    "malformed",
)
"""What one call to a partner ended in; all but ``ok`` count as failures."""
SOURCES = ("partner", "cache", "stale", "none")
"""Where an answer came from: a call now, the fresh cache, a stale copy, or nowhere."""
SKIPS = ("breaker_open", "rate_limited")
"""Why no call went out."""
_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class PartnerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "rsv_partner_api_calls",
            "Calls to partner APIs (each try), by result",
            ["api", "result"],
            registry=registry,
        )
        self.seconds = Histogram(
            "rsv_partner_api_seconds",
            "Time one call to a partner API took",
            ["api"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self.answers = Counter(
            "rsv_partner_api_answers",
            "Answers asked of a partner API, by where they came from",
            ["api", "source"],
            registry=registry,
        )
        self.skipped = Counter(
            "rsv_partner_api_skipped",
            "Calls not made: the circuit was open or the API type was over its rate limit",
            ["api", "reason"],
            registry=registry,
        )
        self.breaker = Gauge(
            "rsv_partner_api_breaker_state",
            "Circuit breaker per partner API: 0 closed, 1 half-open (one trial call), 2 open",
            ["api"],
            registry=registry,
        )

    def start(self, apis: Iterable[str]) -> None:
        for api in apis:
            for result in RESULTS:
                self.calls.labels(api, result)
            for source in SOURCES:
                self.answers.labels(api, source)
            for reason in SKIPS:
                self.skipped.labels(api, reason)
            self.seconds.labels(api)
            self.breaker.labels(api).set(0)
