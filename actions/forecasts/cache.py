"""Forecast answers kept for a while, in the store the composition root chose.

An answer is keyed by property, model version, period and language, so a new promoted
version never serves an old answer. Hits and misses are counted for /metrics.
"""

from __future__ import annotations

import json
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from bot.stores.base import ValueStore
from bot.stores.keys import PREFIX

TTL_SECONDS = 15 * 60
"""Shorter than the media store's day, so a cached answer's chart is still served."""


class AnswerCache:
    def __init__(
        self, answers: ValueStore, registry: CollectorRegistry, ttl_seconds: int = TTL_SECONDS
    ) -> None:
        self._answers = answers
        self._ttl = ttl_seconds
        self.lookups = Counter(
            "rsv_forecast_cache", "Forecast answer lookups", ["result"], registry=registry
        )
        self.hit_ratio = Gauge(
            "rsv_forecast_cache_hit_ratio",
            "Share of forecast answers served from the cache",
            registry=registry,
        )
        self._hits = self._total = 0

    async def get(self, key: str) -> dict[str, Any] | None:
        raw = await self._answers.get(key)
        self._count(raw is not None)
        return None if raw is None else dict(json.loads(raw))

    async def put(self, key: str, answer: dict[str, Any]) -> None:
        await self._answers.put(key, json.dumps(answer), self._ttl)

    def _count(self, hit: bool) -> None:
        self.lookups.labels(result="hit" if hit else "miss").inc()
        self._hits += hit
        self._total += 1
        self.hit_ratio.set(self._hits / self._total)


def cache_key(slug: str, version: str, period: str, locale: str) -> str:
    """A staff forecast answer's Redis key, per property, model version, period and language."""
    return f"{PREFIX}:forecast:{slug}:{version}:{period}:{locale}"
