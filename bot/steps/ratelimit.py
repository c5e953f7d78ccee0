"""Per-user rate limits by category, declared in one YAML file and enforced with ``limits``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from limits import RateLimitItem, parse

from bot.core.context import Turn
from bot.core.documents import DocumentError, mapping, only, read_yaml
from bot.core.observability import Metrics
from bot.core.pipeline import Next
from bot.core.respond import Responder
from bot.core.types import Outcome, Reply, TurnResult
from bot.stores import keys
from bot.stores.base import Counted, OverLimit
from bot.stores.windows import RateWindows

log = structlog.get_logger("rsv360.limits")


@dataclass(frozen=True, slots=True)
class RatePolicy:
    default: Mapping[str, RateLimitItem]
    endpoints: Mapping[str, Mapping[str, RateLimitItem]]
    intents: Mapping[str, str]
    edges: Mapping[str, RateLimitItem] = field(default_factory=dict)
    partners: Mapping[str, RateLimitItem] = field(default_factory=dict)
    """Calls to partner APIs per API type, across every worker (``bot.partners``)."""

    @classmethod
    def from_file(cls, path: Path) -> RatePolicy:
        try:
            return cls.from_document(read_yaml(path.read_text(encoding="utf-8")))
        except DocumentError as error:
            raise DocumentError(f"{path}: {error.where}", error.reason) from None

    @classmethod
    def from_document(cls, loaded: Any) -> RatePolicy:
        """The policy of a loaded rate-limits document; ``DocumentError`` names the field
        (``edges.rest_address: "300/minut" is not a rate``)."""
        document = mapping(loaded, "")
        only(document, POLICY_FIELDS)
        intents = mapping(document.get("intents"), "intents")
        for intent, category in intents.items():
            if not isinstance(category, str) or not category:
                raise DocumentError(f"intents.{intent}", "must name a category")
        return cls(
            default=_items(document.get("default"), "default"),
            endpoints={
                endpoint: _items(limits, f"endpoints.{endpoint}")
                for endpoint, limits in mapping(document.get("endpoints"), "endpoints").items()
            },
            intents=dict(intents),
            edges=_items(document.get("edges"), "edges"),
            partners=_items(document.get("partners"), "partners"),
        )

    def limit(self, category: str, endpoint: str) -> RateLimitItem | None:
        return self.endpoints.get(endpoint, {}).get(category) or self.default.get(category)


POLICY_FIELDS = frozenset({"default", "endpoints", "intents", "edges", "partners"})
MESSAGES = "messages"
"""The category every message counts against."""


def _items(declared: Any, where: str) -> dict[str, RateLimitItem]:
    return {name: _rate(spec, f"{where}.{name}") for name, spec in mapping(declared, where).items()}


def _rate(spec: Any, where: str) -> RateLimitItem:
    """A rate in the ``limits`` notation (``100/minute``, ``5 per 15 minutes``), at least 1."""
    try:
        item = parse(spec) if isinstance(spec, str) else None
    except ValueError:
        item = None
    if item is None or item.amount < 1:
        raise DocumentError(where, f"{spec!r} is not a rate (such as 100/minute)")
    return item


class RateLimiter:
    def __init__(self, windows: RateWindows, policy: RatePolicy) -> None:
        self._limiter = windows
        self.policy = policy

    def replace(self, policy: RatePolicy) -> None:
        """Count by ``policy`` from the next message on (a setting saved in the console)."""
        self.policy = policy

    async def count(self, category: str, endpoint: str, user: str) -> None:
        """Counts one message of ``user``; ``OverLimit`` when the category's window was full."""
        item = self.policy.limit(category, endpoint)
        if item is not None:
            await self._limiter.count(item, category, endpoint, user)

    def messages(self, turn: Turn) -> Counted | None:
        """The window of the user's messages in the conversation, which the conversation's
        order counts as the turn is asked for (``bot.steps.ordering``): on Redis in the same
        round trip."""
        item = self.policy.limit(MESSAGES, turn.message.channel)
        if item is None:
            return None
        amount, seconds = item.amount, item.get_expiry()
        key = keys.message_window(turn.conversation_key, turn.message.user_id, amount, seconds)
        return Counted(key, amount, seconds)


async def refusal(
    turn: Turn, category: str, over: OverLimit, responder: Responder, metrics: Metrics
) -> TurnResult:
    """The first refusal in a window is answered with a "slow down" reply; the rest of a flood
    gets no answer at all."""
    channel = turn.message.channel
    metrics.rate_limited.labels(channel, category).inc()
    log.info("rate_limited", channel=channel, category=category)
    replies: tuple[Reply, ...] = ()
    if over.first:
        slow_down = Outcome("engine/slow_down", {"seconds": math.ceil(over.retry_after)})
        replies = await responder.replies(turn, [slow_down])
    return TurnResult("rate_limited", replies, retry_after=over.retry_after)


class RateLimit:
    """Pipeline step: refuses a message over its user's limit for the category of its intent
    (``refusal``); the messages of every turn are counted by ``bot.steps.ordering``."""

    def __init__(self, limiter: RateLimiter, responder: Responder, metrics: Metrics) -> None:
        self._limiter = limiter
        self._responder = responder
        self._metrics = metrics

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        category = self._limiter.policy.intents.get(turn.parse.intent) if turn.parse else None
        if category is None:
            return await call_next(turn)
        message = turn.message
        try:
            await self._limiter.count(category, message.channel, message.user_id)
        except OverLimit as over:
            return await refusal(turn, category, over, self._responder, self._metrics)
        return await call_next(turn)
