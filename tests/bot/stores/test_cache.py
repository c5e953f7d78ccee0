"""The cache layer: one computation per key across workers, TTL and size bound per kind, and
counts summed over every worker, in process, on Redis and on the Redis Cluster."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis, RedisCluster

from bot.stores.bundle import RedisClients, build_stores
from bot.stores.cache import Cache, CacheKind, CacheMetrics
from tests.support.redis_servers import RedisClusterServers
from tests.support.services import REDIS_URL

PRICES = CacheKind("prices", ttl_seconds=60, max_bytes=100)

Workers = Callable[[], Cache]


@pytest.fixture(params=["memory", "redis", "cluster"])
async def workers(request: pytest.FixtureRequest, redis: Redis) -> AsyncIterator[Workers]:
    """Caches as separate workers would build them: in process they share one set of stores
    (one process), on Redis and on the cluster each has its own client."""
    clients: list[Redis | RedisCluster] = []
    servers: RedisClusterServers | None = None
    spare: list[RedisCluster] = []
    if request.param == "cluster":
        servers = request.getfixturevalue("cluster_servers")
        await servers.wait_until_ok()
        await servers.flush()
        spare = await servers.started_clients(3)
    memory = build_stores(None, 5.0, 5.0)

    def worker() -> Cache:
        stores = memory
        if request.param != "memory":
            client = spare.pop() if servers is not None else Redis.from_url(REDIS_URL)
            clients.append(client)
            url = servers.url if servers is not None else REDIS_URL
            stores = build_stores(RedisClients(url, client, client), 5.0, 5.0)
        metrics = CacheMetrics(CollectorRegistry())
        return Cache(stores.cache, stores.order, stores.cache_counts, metrics)

    yield worker
    for client in clients + spare:
        await client.aclose()


async def test_a_stampede_on_one_key_computes_it_once(workers: Workers) -> None:
    caches = [workers() for _ in range(3)]
    computations = 0
    release = asyncio.Event()

    async def slow_price() -> str:
        nonlocal computations
        computations += 1
        await release.wait()
        return "R$ 420"

    lookups = [
        asyncio.create_task(caches[n % 3].get_or_compute(PRICES, "mar:2027-01", slow_price))
        for n in range(12)
    ]
    await asyncio.sleep(0.3)  # every lookup has missed and queued behind the first
    release.set()
    assert await asyncio.gather(*lookups) == ["R$ 420"] * 12
    assert computations == 1
    counts = await caches[0].counts("prices")
    assert (counts["miss"], counts["computed"], counts["waited"]) == (12, 1, 11)


async def test_a_value_over_its_kinds_bound_is_returned_but_not_kept(workers: Workers) -> None:
    cache = workers()
    computations = 0

    async def huge() -> str:
        nonlocal computations
        computations += 1
        return "x" * 101

    assert await cache.get_or_compute(PRICES, "huge", huge) == "x" * 101
    assert await cache.get_or_compute(PRICES, "huge", huge) == "x" * 101
    assert computations == 2
    assert (await cache.counts("prices"))["oversize"] == 2


async def test_different_keys_compute_side_by_side(workers: Workers) -> None:
    cache = workers()
    both_running = asyncio.Event()
    running = 0

    async def price() -> str:
        nonlocal running
        running += 1
        if running == 2:
            both_running.set()
        await asyncio.wait_for(both_running.wait(), 5)
        return "ok"

    assert await asyncio.gather(
        cache.get_or_compute(PRICES, "a", price), cache.get_or_compute(PRICES, "b", price)
    ) == ["ok", "ok"]
