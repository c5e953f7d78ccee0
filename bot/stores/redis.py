"""Every store kept in Redis: shared by all processes and kept across restarts.

The generic stores are given their keys by their owners, the other mechanisms name their own:
all of them in ``bot/stores/keys.py``. What is stored under a key, and how, must stay readable
by the version running beside a new one: change it only with a migration.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

from limits.aio.storage import RedisStorage, Storage
from redis.asyncio import ConnectionPool, Redis

from bot.core.types import Address
from bot.stores import keys
from bot.stores.base import (
    ConversationOrder,
    ExposureLog,
    ListStore,
    Media,
    MediaStore,
    TurnTimeout,
    ValueStore,
    Wakeups,
)


class RedisValueStore(ValueStore):
    """Plain string keys: ``SET … EX``, ``SET … NX EX``, one ``MULTI`` for ``put_all``."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, key: str) -> str | None:
        return _text_or_none(await self._redis.get(key))

    async def put(self, key: str, value: str, ttl_seconds: int) -> None:
        await self._redis.set(key, value, ex=ttl_seconds)

    async def put_new(self, key: str, value: str, ttl_seconds: int) -> bool:
        return bool(await self._redis.set(key, value, nx=True, ex=ttl_seconds))

    async def put_all(self, values: Mapping[str, str], ttl_seconds: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for key, value in values.items():
                pipe.set(key, value, ex=ttl_seconds)
            await pipe.execute()

    async def delete(self, *keys: str) -> None:
        await self._redis.delete(*keys)


class RedisListStore(ListStore):
    """A Redis list per key: RPUSH, LTRIM to the newest, EXPIRE; taken in one MULTI."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def push(self, key: str, values: Sequence[str], keep: int, ttl_seconds: int) -> None:
        if not values:
            return  # RPUSH refuses an empty push
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, *values)
            pipe.ltrim(key, -keep, -1)
            pipe.expire(key, ttl_seconds)
            await pipe.execute()

    async def take(self, key: str) -> list[str]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lrange(key, 0, -1)
            pipe.delete(key)
            values, _ = await pipe.execute()
        return [_text(value) for value in values]


class RedisMediaStore(MediaStore):
    """A hash per picture (``data``, ``type``) under ``keys.media``."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def put(self, key: str, media: Media, ttl_seconds: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.media(key), mapping={"data": media.data, "type": media.content_type})
            pipe.expire(keys.media(key), ttl_seconds)
            await pipe.execute()

    async def get(self, key: str) -> Media | None:
        data, content_type = await self._redis.hmget(keys.media(key), ["data", "type"])
        if not isinstance(data, bytes) or not isinstance(content_type, bytes):
            return None
        return Media(data, content_type.decode())


class RedisExposureLog(ExposureLog):
    """A capped stream of exposures for analysis, plus counters per variant."""

    def __init__(self, redis: Redis, max_events: int = 1_000_000) -> None:
        self._redis = redis
        self._max_events = max_events

    async def record(self, experiment: str, variant: str, subject: str) -> None:
        event = {"experiment": experiment, "variant": variant, "subject": subject}
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(
                keys.EXPOSURES,
                {"event": json.dumps(event), "at": f"{time.time():.3f}"},
                maxlen=self._max_events,
                approximate=True,
            )
            pipe.hincrby(keys.exposure_counts(experiment), variant, 1)
            await pipe.execute()

    async def counts(self, experiment: str) -> Counter[str]:
        stored = await self._redis.hgetall(keys.exposure_counts(experiment))
        return Counter({_text(variant): int(count) for variant, count in stored.items()})


# Conversation order (docs/architecture.md, "Conversation order across processes"): a FIFO
# list of tickets per conversation. The head holds the turn under a lease (a key with a TTL
# that the holder renews while it works); every waiter's ticket also expires, so a crashed
# holder or waiter is skipped once its key is gone. A waiter blocks on its own wake-up list
# (BLPOP) until the holder before it releases, or at most until the holder's lease would run
# out: no polling sleeps and no key scans.
#
# With ARGV[4] == '1' the ticket first joins the queue (its key lives ARGV[5] ms, the queue
# ARGV[6] ms), so an uncontended turn costs one round trip. Returns {1, 0} when the caller now
# holds the turn, {0, ms} while ticket ARGV[1] waits behind a live holder whose key lives ms
# longer, {-1, 0} when the ticket is gone.
_TRY_TAKE = """
local queue, me, prefix, lease = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if ARGV[4] == '1' then
  redis.call('RPUSH', queue, me)
  redis.call('PEXPIRE', queue, ARGV[6])
  redis.call('SET', prefix .. 'ticket:' .. me, '1', 'PX', ARGV[5])
end
while true do
  local head = redis.call('LINDEX', queue, 0)
  if not head then return {-1, 0} end
  if head == me then
    redis.call('SET', prefix .. 'ticket:' .. me, '1', 'PX', lease)
    return {1, 0}
  end
  local ttl = redis.call('PTTL', prefix .. 'ticket:' .. head)
  if ttl > 0 then return {0, ttl} end
  redis.call('LPOP', queue)
end
"""

_LEAVE = """
local queue, me, prefix, wake_ttl = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
redis.call('LREM', queue, 1, me)
redis.call('DEL', prefix .. 'ticket:' .. me, prefix .. 'wake:' .. me)
local head = redis.call('LINDEX', queue, 0)
if head then
  redis.call('RPUSH', prefix .. 'wake:' .. head, '1')
  redis.call('PEXPIRE', prefix .. 'wake:' .. head, wake_ttl)
end
"""

_RENEW = """
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 0
"""


class RedisConversationOrder(ConversationOrder):
    def __init__(
        self,
        redis: Redis,
        lease_seconds: float,
        max_wait_seconds: float,
        waits: Redis | None = None,
    ) -> None:
        """``waits`` serves the blocking BLPOPs: a pool of their own keeps waiters from taking
        every connection that a holder needs to hand over its turn."""
        self._redis = redis
        self._waits = waits or redis
        self._lease_ms = int(lease_seconds * 1000)
        self._max_wait = max_wait_seconds
        self._try_take = redis.register_script(_TRY_TAKE)
        self._leave = redis.register_script(_LEAVE)
        self._renew = redis.register_script(_RENEW)

    @asynccontextmanager
    async def turn(self, conversation_key: str) -> AsyncIterator[None]:
        ticket = uuid.uuid4().hex
        queue = keys.order_queue(conversation_key)
        prefix = keys.order_ticket(conversation_key, "")[: -len("ticket:")]
        waiting_ms = int((self._max_wait + self._lease_ms / 1000) * 1000)
        try:
            await self._wait_for_head(queue, prefix, conversation_key, ticket, waiting_ms)
        except BaseException:
            await self._leave(keys=[queue], args=[ticket, prefix, waiting_ms])
            raise
        renewal = asyncio.create_task(self._keep_lease(queue, conversation_key, ticket))
        try:
            yield
        finally:
            renewal.cancel()
            with suppress(asyncio.CancelledError):
                await renewal
            await self._leave(keys=[queue], args=[ticket, prefix, waiting_ms])

    async def _wait_for_head(
        self, queue: str, prefix: str, conversation_key: str, ticket: str, waiting_ms: int
    ) -> None:
        deadline = time.monotonic() + self._max_wait
        wake = keys.order_wake(conversation_key, ticket)
        joining = "1"
        while True:
            taken, holder_ttl_ms = await self._try_take(
                keys=[queue],
                args=[
                    ticket,
                    prefix,
                    self._lease_ms,
                    joining,
                    waiting_ms,
                    waiting_ms + self._lease_ms,
                ],
            )
            joining = "0"
            if taken == 1:
                return
            remaining = deadline - time.monotonic()
            if taken == -1 or remaining <= 0:
                raise TurnTimeout(conversation_key)
            timeout = max(0.01, min(remaining, holder_ttl_ms / 1000))
            await self._waits.blpop([wake], timeout=timeout)

    async def _keep_lease(self, queue: str, conversation_key: str, ticket: str) -> None:
        ticket_key = keys.order_ticket(conversation_key, ticket)
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            await self._renew(keys=[queue, ticket_key], args=[ticket, self._lease_ms])


class RedisWakeups(Wakeups):
    """Redis pub/sub on ``keys.WEB_WAKEUPS``; a message is ``channel:conversation_id``."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def publish(self, address: Address) -> None:
        await self._redis.publish(keys.WEB_WAKEUPS, f"{address.channel}:{address.conversation_id}")

    async def listen(self, ready: asyncio.Event) -> AsyncIterator[Address]:
        async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(keys.WEB_WAKEUPS)
            ready.set()
            async for message in pubsub.listen():
                channel, _, conversation = message["data"].decode().partition(":")
                yield Address(channel, conversation)


def redis_rate_limits(redis_url: str, pool: ConnectionPool) -> Storage:
    """The ``limits`` library's storage, on the bot's own connection pool."""
    # limits types its options as scalars, but hands a connection_pool to redis-py as it is.
    shared: dict[str, Any] = {"connection_pool": pool}
    return RedisStorage(
        "async+" + redis_url, implementation="redispy", key_prefix=keys.RATE_LIMIT_PREFIX, **shared
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _text_or_none(value: bytes | str | None) -> str | None:
    return None if value is None else _text(value)
