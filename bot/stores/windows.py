"""Moving windows over the rate-limit counters (``limits``), riding a Redis outage.

``limits`` builds its own Redis client (on a cluster, one that gives up after a few quick
tries), so a failover would turn every guest's message into an apology at the first step that
counts. The windows retry through an outage as the bot's own clients do
(``bot.stores.redis.riding_outages``), so a turn waits instead.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from limits import RateLimitItem
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.util import WindowStats

from bot.stores.base import OverLimit
from bot.stores.redis import Outages, riding_outages

T = TypeVar("T")


class RateWindows:
    def __init__(
        self, storage: Storage, outage_seconds: float = 0.0, outages: Outages | None = None
    ) -> None:
        """``outages``: the bot's clients' (one outage of the server, counted once)."""
        self._limiter = MovingWindowRateLimiter(storage)
        self._outage_seconds = outage_seconds
        self.outages = outages or Outages()

    async def hit(self, item: RateLimitItem, *identity: str) -> bool:
        """Count one; False when the window was full already."""
        return await self._ride(lambda: self._limiter.hit(item, *identity))

    async def count(self, item: RateLimitItem, *identity: str) -> None:
        """Count one; ``OverLimit`` when the window was full already. A second window of one per
        the same span tells whether this refusal is the first of its window."""
        if await self.hit(item, *identity):
            return
        stats = await self.stats(item, *identity)
        notice = type(item)(1, item.multiples, namespace="NOTICE")
        raise OverLimit(max(stats.reset_time - time.time(), 0.0), await self.hit(notice, *identity))

    async def test(self, item: RateLimitItem, *identity: str) -> bool:
        """Whether one more would fit, without counting it."""
        return await self._ride(lambda: self._limiter.test(item, *identity))

    async def stats(self, item: RateLimitItem, *identity: str) -> WindowStats:
        return await self._ride(lambda: self._limiter.get_window_stats(item, *identity))

    async def _ride(self, call: Callable[[], Awaitable[T]]) -> T:
        return await riding_outages(call, self._outage_seconds, self.outages)
