"""Structured logs and Prometheus metrics, and the outermost pipeline step that emits both."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from traceback import format_tb
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.core.context import Turn
from bot.core.loops import LoopFailures
from bot.core.pipeline import Next
from bot.core.types import TurnResult

log = structlog.get_logger("rsv360.turn")

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def configure_logging(log_format: str, level: str) -> None:
    renderers: list[Any] = (
        [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            _drop_exception_values,
            structlog.processors.JSONRenderer(),
        ]
        if log_format == "json"
        else [structlog.dev.ConsoleRenderer(colors=False, exception_formatter=_exception_type_only)]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *renderers,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )


def _drop_exception_values(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """Keep an exception's type and frames but not its text or locals, where guests' messages,
    e-mails and phone numbers end up."""
    for raised in event.get("exception", []):
        raised.pop("exc_value", None)
    return event


def _exception_type_only(sio: Any, exc_info: Any) -> None:
    exc_type, _, traceback = exc_info
    frames = "".join(format_tb(traceback))
    sio.write(f"\n{frames}{exc_type.__name__}\n")


# Until the composition root keys them, pseudonyms use a key of this process alone: unlinkable
# across processes, but never guessable.
_pseudonym_key = secrets.token_bytes(32)


def configure_pseudonyms(server_secret: str) -> None:
    """Key every pseudonym with the server's secret. A plain hash of a booking code (six
    characters) or a Telegram id (a number) is reversed by trying them all; a keyed one is
    not, for whoever reads the logs without the secret."""
    global _pseudonym_key
    _pseudonym_key = hmac.new(server_secret.encode(), b"rsv360:pseudonyms", "sha256").digest()


def pseudonym(identifier: str) -> str:
    """A stable stand-in for a user or conversation id, for logs and analytics."""
    encoded = identifier.encode("utf-8", "surrogatepass")
    return hmac.new(_pseudonym_key, encoded, hashlib.sha256).hexdigest()[:16]


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.messages = Counter(
            "rsv_messages", "Messages handled", ["channel", "intent", "status"], registry=registry
        )
        self.turn_seconds = Histogram(
            "rsv_turn_seconds",
            "Time from a message entering the engine to its replies",
            ["channel"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.rate_limited = Counter(
            "rsv_rate_limited",
            "Messages refused by a rate limit",
            ["channel", "category"],
            registry=registry,
        )
        self.dedupe_hits = Counter(
            "rsv_dedupe_hits", "Re-delivered updates dropped", ["channel"], registry=registry
        )
        self.order_wait_seconds = Histogram(
            "rsv_order_wait_seconds",
            "Time a message waited for its conversation's turn",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.order_timeouts = Counter(
            "rsv_order_timeouts",
            "Messages refused because their conversation stayed busy",
            registry=registry,
        )
        self.exposures = Counter(
            "rsv_experiment_exposures",
            "Template variants shown",
            ["experiment", "variant"],
            registry=registry,
        )
        self.deliveries = Counter(
            "rsv_deliveries",
            "Provider messages by result: sent, failed, unreachable, skipped",
            ["channel", "result"],
            registry=registry,
        )
        self.delivery_retries = Counter(
            "rsv_delivery_retries",
            "Provider calls retried after a 429, 5xx or network error",
            ["channel"],
            registry=registry,
        )
        self.delivery_throttled = Counter(
            "rsv_delivery_throttled",
            "Provider calls refused with a wait to respect (a 429 with its Retry-After)",
            ["channel"],
            registry=registry,
        )
        self.provider_statuses = Counter(
            "rsv_provider_statuses",
            "Delivery statuses providers reported (WhatsApp: sent, delivered, read, failed), "
            "by status and the provider's error code",
            ["channel", "status", "error_code"],
            registry=registry,
        )
        self.dependency_up = Gauge(
            "rsv_dependency_up",
            "Whether a dependency of /readyz (database, redis) answered at the last scrape",
            ["dependency"],
            registry=registry,
        )
        self.loops = LoopFailures(registry)
        self.webhook_verification = WebhookVerification(registry)


class WebhookVerification:
    """Webhooks refused because they failed verification: a wrong or missing secret token or
    signature, or a stale timestamp. Someone posts as the provider (Telegram, Slack, WhatsApp,
    a payment gateway), or the bot's secret no longer matches the provider's; the security
    alert rule watches this one counter for every source."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._failures = Counter(
            "rsv_webhook_verification_failures",
            "Webhooks refused for failing verification (secret token, signature, timestamp), "
            "by source (provider or payment gateway) and reason",
            ["source", "reason"],
            registry=registry,
        )

    def watch(self, source: str, *reasons: str) -> None:
        """The source's series at 0 from the start, so that the first forgery is already an
        increase the rule sees (a series born with its first count needs a second scrape)."""
        for reason in reasons:
            self._failures.labels(source, reason)

    def failed(self, source: str, reason: str) -> None:
        self._failures.labels(source, reason).inc()


class Observe:
    """Times every turn, counts it and writes one log line without message content."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        started = time.perf_counter()
        result = await call_next(turn)
        elapsed = time.perf_counter() - started
        message = turn.message
        intent = turn.parse.intent if turn.parse else "-"
        self._metrics.turn_seconds.labels(message.channel).observe(elapsed)
        self._metrics.messages.labels(message.channel, intent, result.status).inc()
        log.info(
            "turn",
            channel=message.channel,
            conversation=pseudonym(turn.conversation_key),
            user=pseudonym(message.user_id),
            intent=intent,
            confidence=round(turn.parse.confidence, 3) if turn.parse else None,
            locale=turn.session.locale if turn.session else None,
            status=result.status,
            replies=len(result.replies),
            ms=round(elapsed * 1000, 2),
        )
        return result
