"""Forecast answers kept for a while: in Redis when configured, in-process otherwise.

An answer is keyed by property, model version, period and language, so a new promoted
version never serves an old answer. Hits and misses are counted for /metrics.
"""

from __future__ import annotations

import json
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from redis.asyncio import Redis

from bot.keys import PREFIX

TTL_SECONDS = 15 * 60
"""Shorter than the media store's day, so a cached answer's chart is still served."""


class AnswerCache:
    def __init__(self, redis: Redis | None, registry: CollectorRegistry,
                 ttl_seconds: int = TTL_SECONDS) -> None:  # fmt: skip
        self._redis = redis
        self._ttl = ttl_seconds
        self._memory: dict[str, tuple[float, str | None]] = {}
        self.lookups = Counter(
            "rsv_forecast_cache", "Forecast answer lookups", ["result"], registry=registry
        )
        self.hit_ratio = Gauge(
            "rsv_forecast_cache_hit_ratio", "Share of forecast answers served from the cache",
            registry=registry,
        )  # fmt: skip
        self._hits = self._total = 0

    async def get(self, key: str) -> dict[str, Any] | None:
        raw: str | bytes | None
        if self._redis is not None:
            raw = await self._redis.get(key)
        else:
            expires, raw = self._memory.get(key, (0.0, None))
            if expires < time.monotonic():
                self._memory.pop(key, None)
                raw = None
        self._count(raw is not None)
        return None if raw is None else dict(json.loads(raw))

    async def put(self, key: str, answer: dict[str, Any]) -> None:
        raw = json.dumps(answer)
        if self._redis is not None:
            await self._redis.set(key, raw, ex=self._ttl)
        else:
            self._memory[key] = (time.monotonic() + self._ttl, raw)

    def _count(self, hit: bool) -> None:
        self.lookups.labels(result="hit" if hit else "miss").inc()
        self._hits += hit
        self._total += 1
        self.hit_ratio.set(self._hits / self._total)


def cache_key(slug: str, version: str, period: str, locale: str) -> str:
    """A staff forecast answer's Redis key, per property, model version, period and language."""
    return f"{PREFIX}:forecast:{slug}:{version}:{period}:{locale}"
