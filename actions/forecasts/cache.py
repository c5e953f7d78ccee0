"""Forecast answers kept for a while in the cache layer (``bot.stores.cache``), as kind
``forecast``.

An answer is keyed by property, model version, period and language, so a new promoted
version never serves an old answer. Hits, misses and computations are counted by the cache.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from bot.stores.cache import Cache, CacheKind

TTL_SECONDS = 15 * 60
"""Shorter than the media store's day, so a cached answer's chart is still served."""


def forecast_kind(ttl_seconds: int = TTL_SECONDS) -> CacheKind:
    return CacheKind("forecast", ttl_seconds, max_bytes=64 * 1024)


class AnswerCache:
    def __init__(self, cache: Cache, kind: CacheKind) -> None:
        self._cache = cache
        self.kind = kind

    async def peek(self, key: str) -> dict[str, Any] | None:
        found = await self._cache.get(self.kind, key)
        return None if found is None else dict(json.loads(found))

    async def answer(
        self, key: str, compute: Callable[[], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """The cached answer, or the one computed now (once across workers) and kept."""

        async def computed() -> str:
            return json.dumps(await compute())

        return dict(json.loads(await self._cache.get_or_compute(self.kind, key, computed)))


def cache_key(slug: str, version: str, period: str, locale: str) -> str:
    """A staff forecast answer's key, per property, model version, period and language."""
    return f"{slug}:{version}:{period}:{locale}"
