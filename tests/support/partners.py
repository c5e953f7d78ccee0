"""Partner clients as separate workers would build them, on the in-process stores or on the
real Redis, with a clock the test moves and a sleep that only records what it was asked to wait
(so retries and backoff cost no time)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC
from typing import Any

import pytest
from limits import parse
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from bot.partners.client import PartnerClient
from bot.partners.metrics import PartnerMetrics
from bot.partners.settings import PartnerSettings
from bot.stores.bundle import RedisClients, Stores, build_stores
from bot.stores.cache import Cache, CacheMetrics
from bot.stores.windows import RateWindows
from tests.support.clock import NOW, Ticks
from tests.support.services import REDIS_URL


class Sleeps:
    """An ``asyncio.sleep`` stand-in that records the delays and moves the ticks by them."""

    def __init__(self, ticks: Ticks) -> None:
        self.ticks = ticks
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.ticks.now += seconds


class Workers:
    """Builds partner clients that share one set of stores (in process) or one Redis."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.ticks = Ticks()
        self.sleeps = Sleeps(self.ticks)
        self.registries: list[CollectorRegistry] = []
        self._memory = build_stores(None, 5.0, 5.0, self.ticks)
        self._clients: list[Redis] = []
        self.partners: list[PartnerClient] = []

    def stores(self) -> Stores:
        if self.backend == "memory":
            return self._memory
        client = Redis.from_url(REDIS_URL)
        self._clients.append(client)
        return build_stores(RedisClients(REDIS_URL, client, client), 5.0, 5.0)

    def client(self, limits: Mapping[str, str] | None = None, **settings: Any) -> PartnerClient:
        stores = self.stores()
        registry = CollectorRegistry()
        self.registries.append(registry)
        cache = Cache(stores.cache, stores.order, stores.cache_counts, CacheMetrics(registry))
        defaults: dict[str, Any] = {"timeout_seconds": 1.0, "breaker_failures": 3}
        partner = PartnerClient(
            cache,
            RateWindows(stores.rate_limits),
            {kind: parse(limit) for kind, limit in (limits or {}).items()},
            PartnerSettings(**(defaults | settings)),
            PartnerMetrics(registry),
            monotonic=self.ticks,
            sleep=self.sleeps,
            random=lambda: 0.5,
            now=lambda: NOW.astimezone(UTC),
        )
        self.partners.append(partner)
        return partner

    async def close(self) -> None:
        for partner in self.partners:
            await partner.close()
        for client in self._clients:
            await client.aclose()


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


@pytest.fixture(params=["memory", "redis"])
async def partner_workers(request: pytest.FixtureRequest, redis: Redis) -> AsyncIterator[Workers]:
    """Workers on each backend (the Redis database emptied first)."""
    workers = Workers(request.param)
    yield workers
    await workers.close()
