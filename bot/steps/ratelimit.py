"""Per-user rate limits by category, declared in one YAML file and enforced with ``limits``."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog
import yaml
from limits import RateLimitItem, parse

from bot.core.context import Turn
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
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(
            default=_items(document.get("default", {})),
            endpoints={
                endpoint: _items(limits)
                for endpoint, limits in (document.get("endpoints") or {}).items()
            },
            intents=dict(document.get("intents") or {}),
            edges=_items(document.get("edges") or {}),
            partners=_items(document.get("partners") or {}),
        )

    def limit(self, category: str, endpoint: str) -> RateLimitItem | None:
        return self.endpoints.get(endpoint, {}).get(category) or self.default.get(category)


def _items(declared: Mapping[str, str]) -> dict[str, RateLimitItem]:
    return {category: parse(spec) for category, spec in (declared or {}).items()}


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    retry_after: float = 0.0
    first_refusal: bool = False


class RateLimiter:
    def __init__(self, windows: RateWindows, policy: RatePolicy) -> None:
        self._limiter = windows
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


def intent_category(policy: RatePolicy) -> Callable[[Turn], str | None]:
    def category_of(turn: Turn) -> str | None:
        return policy.intents.get(turn.parse.intent) if turn.parse else None

    return category_of
