"""The Today page's live figures from the process's own metrics: messages per minute over the
last minute of readings, reply-time percentiles as Prometheus interpolates them, and the share
of messages understood."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from bot.core.observability import Metrics
from bot.root.console import LiveFigures, quantile
from tests.support.clock import Ticks


def test_quantiles_interpolate_within_the_bucket() -> None:
    buckets = [(0.1, 50.0), (0.5, 90.0), (1.0, 100.0), (float("inf"), 100.0)]
    assert quantile(buckets, 0.5) == 0.1
    assert quantile(buckets, 0.7) == 0.1 + 0.4 * 0.5
    assert quantile(buckets, 0.95) == 0.5 + 0.5 * 0.5
    assert quantile([(0.1, 0.0), (float("inf"), 0.0)], 0.5) is None
    assert quantile([(0.1, 0.0), (float("inf"), 4.0)], 0.5) == 0.1  # all beyond the last bound


def test_live_figures_follow_the_metrics() -> None:
    metrics = Metrics(CollectorRegistry())
    ticks = Ticks()
    live = LiveFigures(metrics, ticks)
    first = live.values()
    assert first["messages_per_minute"] is None
    assert (first["latency_p50_ms"], first["understood_percent"]) == (None, None)

    for intent, seconds in (("greet", 0.02), ("book", 0.04), ("out_of_scope", 0.3), ("-", 0.01)):
        metrics.messages.labels("web", intent, "ok").inc()
        metrics.turn_seconds.labels("web").observe(seconds)
    ticks.now += 30
    figures = live.values()
    assert figures["messages_per_minute"] == 8.0  # 4 in half a minute
    assert (figures["understood"], figures["out_of_scope"]) == (2, 1)
    assert figures["understood_percent"] == 67  # the "-" (no text understood) is not counted
    assert 0 < figures["latency_p50_ms"] <= figures["latency_p95_ms"] <= 500

    ticks.now += 90  # a quiet minute and a half: the rate looks at the last minute only
    live.values()
    ticks.now += 30
    assert live.values()["messages_per_minute"] == 0.0
