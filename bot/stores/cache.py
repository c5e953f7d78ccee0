"""A cache layer over the value store: get-or-compute, one computation per key at a time across
every worker, a TTL and a size bound per kind of value, and counts of what it did.

Stampede protection reuses the conversation order (``ConversationOrder``): the first worker to
miss a key takes its turn and computes, the others queue behind it (blocking, no polling) and
find the value when their turn comes. A worker that waits longer than the order allows computes
anyway rather than fail its caller. A value over its kind's bound is returned but not kept.

Counts are kept per process for ``/metrics`` and, beside the values, per kind in the shared
store, so that ``rsv360 cache stats`` sees every worker's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from bot.stores.base import ConversationOrder, CounterStore, TurnTimeout, ValueStore
from bot.stores.keys import PREFIX

log = structlog.get_logger("rsv360.cache")

EVENTS = ("hit", "miss", "computed", "waited", "oversize", "wait_timeout")


@dataclass(frozen=True, slots=True)
class CacheKind:
    """One kind of cached value: its name (in keys and metrics), how long a value is kept,
    and the largest value worth keeping (UTF-8 bytes)."""

    name: str
    ttl_seconds: int
    max_bytes: int = 256 * 1024


class CacheMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "rsv_cache_events",
            "Cache lookups and what followed",
            ["kind", "event"],
            registry=registry,
        )
        self.hit_ratio = Gauge(
            "rsv_cache_hit_ratio",
            "Share of lookups served from the cache",
            ["kind"],
            registry=registry,
        )


class Cache:
    def __init__(
        self,
        values: ValueStore,
        order: ConversationOrder,
        counts: CounterStore,
        metrics: CacheMetrics,
    ) -> None:
        self._values = values
        self._order = order
        self._counts = counts
        self._metrics = metrics
        self._seen: dict[str, list[int]] = {}

    async def get(self, kind: CacheKind, key: str) -> str | None:
        value = await self._values.get(cache_key(kind, key))
        await self._count(kind, "hit" if value is not None else "miss")
        return value

    async def put(self, kind: CacheKind, key: str, value: str) -> bool:
        """Keep the value for the kind's TTL; False (and not kept) when it is over the bound."""
        if kind.ttl_seconds <= 0:
            return False  # caching turned off for the kind
        if len(value.encode()) > kind.max_bytes:
            await self._count(kind, "oversize")
            log.warning("cache_value_oversize", kind=kind.name, bytes=len(value.encode()))
            return False
        await self._values.put(cache_key(kind, key), value, kind.ttl_seconds)
        return True

    async def get_or_compute(
        self, kind: CacheKind, key: str, compute: Callable[[], Awaitable[str]]
    ) -> str:
        """The cached value, or ``compute()``'s, kept; computed once at a time per key."""
        found = await self.get(kind, key)
        if found is not None:
            return found
        try:
            async with self._order.turn(lock_key(kind, key)):
                found = await self._values.get(cache_key(kind, key))
                if found is not None:  # another worker computed it while this one waited
                    await self._count(kind, "waited")
                    return found
                return await self._compute(kind, key, compute)
        except TurnTimeout:
            await self._count(kind, "wait_timeout")
            return await self._compute(kind, key, compute)

    async def counts(self, kind: str) -> dict[str, int]:
        """Every worker's counts for the kind, from the shared store."""
        stored = await self._counts.read(stats_key(kind))
        return {event: stored.get(event, 0) for event in EVENTS}

    async def _compute(
        self, kind: CacheKind, key: str, compute: Callable[[], Awaitable[str]]
    ) -> str:
        value = await compute()
        await self._count(kind, "computed")
        await self.put(kind, key, value)
        return value

    async def _count(self, kind: CacheKind, event: str) -> None:
        self._metrics.events.labels(kind.name, event).inc()
        if event in ("hit", "miss"):
            seen = self._seen.setdefault(kind.name, [0, 0])
            seen[0] += event == "hit"
            seen[1] += 1
            self._metrics.hit_ratio.labels(kind.name).set(seen[0] / seen[1])
        try:
            await self._counts.add(stats_key(kind.name), event)
        except Exception:  # counting must never fail the lookup it counts
            log.exception("cache_count_failed", kind=kind.name)


def cache_key(kind: CacheKind, key: str) -> str:
    return f"{PREFIX}:cache:{kind.name}:{key}"


def lock_key(kind: CacheKind, key: str) -> str:
    """The order's conversation key for computing one value (its own hash tag)."""
    return f"cache:{kind.name}:{key}"


def stats_key(kind: str) -> str:
    return f"{PREFIX}:cache:stats:{kind}"
