"""The ``Stores`` bundle and ``build_stores``, the one place that chooses the backend."""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits.aio.storage import MemoryStorage, Storage
from redis.asyncio import Redis

from bot.stores.base import (
    Clock,
    ConversationOrder,
    CounterStore,
    ExposureLog,
    ListStore,
    MediaStore,
    ValueStore,
    Wakeups,
)
from bot.stores.memory import (
    MemoryConversationOrder,
    MemoryCounterStore,
    MemoryExposureLog,
    MemoryListStore,
    MemoryMediaStore,
    MemoryValueStore,
)
from bot.stores.redis import (
    RedisClient,
    RedisConversationOrder,
    RedisCounterStore,
    RedisExposureLog,
    RedisListStore,
    RedisMediaStore,
    RedisValueStore,
    RedisWakeups,
    redis_rate_limits,
)
from bot.stores.redis_url import RedisTarget, parse_redis_url

# Bounds of the in-process stores that grow with traffic (an entry per update, button or push).
MAX_REMEMBERED_UPDATES = 100_000
MAX_SHORT_PAYLOADS = 100_000
MAX_WAITING_CONVERSATIONS = 10_000
MAX_CACHED_VALUES = 10_000


@dataclass(frozen=True, slots=True)
class Stores:
    """Every store, each named for what it keeps; its owner (in brackets) wraps it."""

    dedupe: ValueStore
    """Update ids seen: the pipeline's, the checkout forms', Slack events'
    (``bot.steps.dedupe``)."""
    sessions: ValueStore
    """One JSON document per conversation (``bot.steps.sessions``)."""
    payloads: ValueStore
    """Button payloads too long for a provider, under their short keys (``bot.core.payloads``)."""
    unreachable: ValueStore
    """Chats that refused the bot (``bot.outbound.delivery``)."""
    handoffs: ValueStore
    """Open handoffs and who took them (``actions.handoff.store``)."""
    cache: ValueStore
    """Cached values of every kind: staff forecast answers … (``bot.stores.cache``)."""
    cache_counts: CounterStore
    """What the cache did, per kind, summed over every process (``bot.stores.cache``)."""
    pending_replies: ListStore
    """Replies waiting for a conversation to connect (``bot.outbound.proactive``)."""
    media: MediaStore
    """Published pictures (``bot.outbound.media``)."""
    exposures: ExposureLog
    """A/B exposures (``bot.core.experiments``)."""
    order: ConversationOrder
    """One turn at a time per conversation (``bot.steps.ordering``)."""
    rate_limits: Storage
    """The ``limits`` library's counters (``bot.steps.ratelimit``, ``bot.edge.limits``)."""
    wakeups: Wakeups | None
    """Relays replies to the process holding a conversation (``bot.outbound.proactive``); None
    in one process, where there is nobody to relay to."""


@dataclass(frozen=True, slots=True)
class RedisClients:
    url: str
    """A single server's or a cluster's (``bot.stores.redis_url``)."""
    client: RedisClient
    waits: RedisClient
    """Serves the conversation order's blocking BLPOPs: a pool of their own keeps waiters from
    taking every connection that a holder needs to hand over its turn."""

    @property
    def target(self) -> RedisTarget:
        return parse_redis_url(self.url)

    async def ping(self) -> None:
        await self.client.ping()

    async def start(self) -> None:
        """Each client answers once before any turn uses it. A cluster client learns the
        topology on its first command; left to a burst of concurrent first commands, redis-py
        8's learns it in each of them, drops the connections the others are using and sends
        their commands again, and a ``SET NX`` sent again answers "taken" to its own write (a
        new message would be seen as a duplicate)."""
        for client in (self.client, self.waits):
            await client.ping()

    async def close(self) -> None:
        for client in (self.client, self.waits):
            await client.aclose()


def build_stores(
    redis: RedisClients | None,
    order_lease_seconds: float,
    order_max_wait_seconds: float,
    clock: Clock = time.monotonic,
) -> Stores:
    """Every store in Redis when there are clients, else in this process on ``clock``."""
    if redis is None:
        # A turn reads its session and its handoff link from one store, as on Redis.
        conversations = MemoryValueStore(clock)
        dedupe = MemoryValueStore(clock, MAX_REMEMBERED_UPDATES)
        return Stores(
            dedupe=dedupe,
            sessions=conversations,
            payloads=MemoryValueStore(clock, MAX_SHORT_PAYLOADS),
            unreachable=MemoryValueStore(clock),
            handoffs=conversations,
            cache=MemoryValueStore(clock, MAX_CACHED_VALUES),
            cache_counts=MemoryCounterStore(),
            pending_replies=MemoryListStore(clock, MAX_WAITING_CONVERSATIONS),
            media=MemoryMediaStore(clock),
            exposures=MemoryExposureLog(),
            order=MemoryConversationOrder(order_max_wait_seconds, conversations, dedupe),
            rate_limits=MemoryStorage(),
            wakeups=None,
        )
    values = RedisValueStore(redis.client)
    return Stores(
        dedupe=values,
        sessions=values,
        payloads=values,
        unreachable=values,
        handoffs=values,
        cache=values,
        cache_counts=RedisCounterStore(redis.client),
        pending_replies=RedisListStore(redis.client),
        media=RedisMediaStore(redis.client),
        exposures=RedisExposureLog(redis.client),
        order=RedisConversationOrder(
            redis.client, order_lease_seconds, order_max_wait_seconds, redis.waits
        ),
        rate_limits=redis_rate_limits(
            redis.target, redis.client.connection_pool if isinstance(redis.client, Redis) else None
        ),
        wakeups=RedisWakeups(redis.client),
    )
