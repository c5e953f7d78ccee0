"""What only a Redis Cluster can break: wake-ups on sharded pub/sub across processes and through
a failover, and rate limits counted by the ``limits`` library's cluster storage."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from limits import parse

from bot.core.render import Renderer
from bot.core.types import Address, Outcome, Reply
from bot.outbound.proactive import Notifier, PendingReplies
from bot.root.settings import PACKAGE_ROOT
from bot.steps.ratelimit import RateLimiter, RatePolicy
from bot.stores import keys
from bot.stores.base import OverLimit
from bot.stores.bundle import RedisClients, Stores, build_stores
from bot.stores.redis import CLUSTER_HANDSHAKE, OutageRidingCluster
from bot.stores.windows import RateWindows
from tests.support.redis_servers import RedisClusterServers

GUEST = Address("web", "guest-1")


def cluster_stores(servers: RedisClusterServers) -> tuple[Stores, OutageRidingCluster]:
    """The stores of one bot process on the cluster, as ``bot.root.app`` builds them."""
    client = OutageRidingCluster(
        startup_nodes=servers.client().startup_nodes, outage_seconds=15.0, **CLUSTER_HANDSHAKE
    )
    return build_stores(RedisClients(servers.url, client, client), 5.0, 5.0), client


def notifier(stores: Stores) -> Notifier:
    renderer = Renderer(PACKAGE_ROOT / "prompts", PACKAGE_ROOT / "locales", "pt_BR")
    return Notifier(renderer, {}, PendingReplies(stores.pending_replies), stores.wakeups)


async def test_a_push_from_one_process_reaches_the_one_holding_the_chat_through_a_failover(
    redis_cluster: RedisClusterServers,
) -> None:
    holding_stores, holding_client = cluster_stores(redis_cluster)
    sending_stores, sending_client = cluster_stores(redis_cluster)
    holding, sending = notifier(holding_stores), notifier(sending_stores)
    delivered: list[Reply] = []
    arrived = asyncio.Event()

    async def deliver(address: Address, replies: Sequence[Reply]) -> bool:
        assert address == GUEST
        delivered.extend(replies)
        arrived.set()
        return True

    holding.register("web", deliver, relayed=True)
    sending.register("web", deliver, relayed=True)
    ready = asyncio.Event()
    following = asyncio.create_task(holding.follow("web", lambda _: True, ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        await sending.notify(GUEST, "pt-BR", [Outcome("engine/busy")])
        await asyncio.wait_for(arrived.wait(), 10)
        assert len(delivered) == 1

        shard = sending_client.get_node_from_key(keys.WEB_WAKEUPS)
        assert shard is not None
        redis_cluster.server(int(shard.port)).kill()
        sent = 1
        # A wake-up published while the subscription moves is lost (the reply waits in the
        # queue), so the sender goes on pushing until one wakes the holder: every reply pushed
        # is then delivered, once.
        for _ in range(30):
            arrived.clear()
            await sending.notify(GUEST, "pt-BR", [Outcome("engine/busy")])
            sent += 1
            try:
                await asyncio.wait_for(arrived.wait(), 1.0)
                break
            except TimeoutError:
                continue
        assert arrived.is_set(), "no wake-up reached the holder after the failover"
        assert len(delivered) == sent
        assert "master" in (await redis_cluster.roles()).values()
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
        await holding_client.aclose()
        await sending_client.aclose()


async def test_rate_limits_are_counted_across_processes_on_the_cluster(
    redis_cluster: RedisClusterServers,
) -> None:
    policy = RatePolicy(default={"bookings": parse("3/minute")}, endpoints={}, intents={})
    first, first_client = cluster_stores(redis_cluster)
    second, second_client = cluster_stores(redis_cluster)
    limiters = [
        RateLimiter(RateWindows(first.rate_limits), policy),
        RateLimiter(RateWindows(second.rate_limits), policy),
    ]
    try:
        for n in range(3):
            await limiters[n % 2].count("bookings", "web", "u1")
        with pytest.raises(OverLimit) as refused:
            await limiters[1].count("bookings", "web", "u1")
        assert refused.value.first
        await limiters[0].count("bookings", "web", "u2")
    finally:
        await first_client.aclose()
        await second_client.aclose()
