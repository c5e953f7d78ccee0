"""Per-user rate limits by category, declared in one YAML file and enforced with ``limits``."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
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


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    retry_after: float = 0.0
    first_refusal: bool = False


class RateLimiter:
    def __init__(self, windows: RateWindows, policy: RatePolicy) -> None:
        self._limiter = windows
        self.policy = policy

    def replace(self, policy: RatePolicy) -> None:
        """Count by ``policy`` from the next message on (a setting saved in the console)."""
        self.policy = policy

    async def hit(self, category: str, endpoint: str, user: str) -> RateDecision:
        item = self.policy.limit(category, endpoint)
        if item is None:
            return RateDecision(allowed=True)
        identity = (category, endpoint, user)
        if await self._limiter.hit(item, *identity):
            return RateDecision(allowed=True)
        stats = await self._limiter.stats(item, *identity)
        # A second limit of one per window tells whether this refusal is the first of its window,
        # so that a flood gets a single "slow down" reply.
        notice = type(item)(1, item.multiples, namespace="NOTICE")
        return RateDecision(
            allowed=False,
            retry_after=max(stats.reset_time - time.time(), 0.0),
            first_refusal=await self._limiter.hit(notice, *identity),
        )


class RateLimit:
    """Pipeline step: refuses a message over its user's limit for one category.

    The first refusal in a window is answered with a "slow down" reply; the rest of a flood gets
    no answer at all. ``category_of`` picks the category from what the turn knows so far.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        category_of: Callable[[Turn], str | None],
        responder: Responder,
        metrics: Metrics,
    ) -> None:
        self._limiter = limiter
        self._category_of = category_of
        self._responder = responder
        self._metrics = metrics

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        category = self._category_of(turn)
        if category is None:
            return await call_next(turn)
        message = turn.message
        decision = await self._limiter.hit(category, message.channel, message.user_id)
        if decision.allowed:
            return await call_next(turn)
        self._metrics.rate_limited.labels(message.channel, category).inc()
        log.info("rate_limited", channel=message.channel, category=category)
        replies: tuple[Reply, ...] = ()
        if decision.first_refusal:
            slow_down = Outcome("engine/slow_down", {"seconds": math.ceil(decision.retry_after)})
            replies = await self._responder.replies(turn, [slow_down])
        return TurnResult("rate_limited", replies, retry_after=decision.retry_after)


def message_category(turn: Turn) -> str:
    return "messages"


def intent_category(limiter: RateLimiter) -> Callable[[Turn], str | None]:
    """The category of the turn's intent, by the limiter's current policy."""

    def category_of(turn: Turn) -> str | None:
        return limiter.policy.intents.get(turn.parse.intent) if turn.parse else None

    return category_of
