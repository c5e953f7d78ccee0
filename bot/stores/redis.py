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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar, cast

import structlog
from limits.aio.storage import RedisClusterStorage, RedisStorage, Storage
from redis.asyncio import ConnectionPool, Redis, RedisCluster
from redis.exceptions import ClusterDownError, SlotNotCoveredError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.core.batch import Batch
from bot.core.loops import cancel_and_wait
from bot.core.types import Address
from bot.stores import keys
from bot.stores.base import (
    ConversationOrder,
    Counted,
    CounterStore,
    Delivery,
    ExposureLog,
    HeldTurn,
    ListStore,
    Media,
    MediaStore,
    OverLimit,
    Redelivered,
    TurnTimeout,
    ValueStore,
    Wakeups,
)
from bot.stores.redis_url import RedisTarget

log = structlog.get_logger("rsv360.redis")

RedisClient = Redis | RedisCluster
"""One server or a cluster: the stores use only commands that both serve, on keys that a
cluster can route (every key a script touches shares the first one's hash tag)."""

# Several keys, one slot (a cluster refuses more): each written with the TTL in ARGV[1].
_PUT_ALL = """
for index, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[index + 1], 'EX', ARGV[1])
end
"""

_PUSH = """
redis.call('RPUSH', KEYS[1], unpack(ARGV, 3))
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
"""

_TAKE = """
local values = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return values
"""

_PUT_MEDIA = """
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'type', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
"""


class RedisValueStore(ValueStore):
    """Plain string keys: ``SET … EX``, ``SET … NX EX``, one script for ``put_all`` (whose keys
    share a hash tag, as one slot is all a cluster lets a script touch)."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._put_all = redis.register_script(_PUT_ALL)

    async def get(self, key: str) -> str | None:
        return _text_or_none(await self._redis.get(key))

    async def put(self, key: str, value: str, ttl_seconds: int) -> None:
        await self._redis.set(key, value, ex=ttl_seconds)

    async def put_new(self, key: str, value: str, ttl_seconds: int) -> bool:
        return bool(await self._redis.set(key, value, nx=True, ex=ttl_seconds))

    async def put_all(self, values: Mapping[str, str], ttl_seconds: int) -> None:
        if values:
            await self._put_all(keys=list(values), args=[ttl_seconds, *values.values()])

    async def get_all(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        if isinstance(self._redis, RedisCluster):
            values = await self._redis.mget_nonatomic(list(keys))
        else:
            values = await self._redis.mget(list(keys))
        return [_text_or_none(value) for value in values]

    async def delete(self, *keys: str) -> None:
        await self._redis.delete(*keys)


class RedisListStore(ListStore):
    """A Redis list per key: RPUSH, LTRIM to the newest, EXPIRE; taken by LRANGE and DEL. Each
    is one script on one key, so it is atomic on a cluster too."""

    def __init__(self, redis: RedisClient) -> None:
        self._push = redis.register_script(_PUSH)
        self._take = redis.register_script(_TAKE)

    async def push(self, key: str, values: Sequence[str], keep: int, ttl_seconds: int) -> None:
        if not values:
            return  # RPUSH refuses an empty push
        await self._push(keys=[key], args=[keep, ttl_seconds, *values])

    async def take(self, key: str) -> list[str]:
        values = await self._take(keys=[key])
        return [_text(value) for value in values]


class RedisMediaStore(MediaStore):
    """A hash per picture (``data``, ``type``) under ``keys.media``."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._put = redis.register_script(_PUT_MEDIA)

    async def put(self, key: str, media: Media, ttl_seconds: int) -> None:
        await self._put(keys=[keys.media(key)], args=[media.data, media.content_type, ttl_seconds])

    async def get(self, key: str) -> Media | None:
        data, content_type = await self._redis.hmget(keys.media(key), ["data", "type"])
        if not isinstance(data, bytes) or not isinstance(content_type, bytes):
            return None
        return Media(data, content_type.decode())


class RedisExposureLog(ExposureLog):
    """The live feed: a capped stream of exposures and counters per variant, written together
    every ``batch_seconds`` (one round trip for all the exposures of a moment, instead of one
    per greeting); ``counts`` writes what waits first."""

    def __init__(
        self, redis: RedisClient, max_events: int = 1_000_000, batch_seconds: float = 0.5
    ) -> None:
        self._redis = redis
        self._max_events = max_events
        self._soon: Batch[tuple[str, str, str, float]] = Batch(self._write, batch_seconds)

    async def record(self, experiment: str, variant: str, subject: str, at: datetime) -> None:
        self._soon.add((experiment, variant, subject, at.timestamp()))

    async def _write(self, exposures: list[tuple[str, str, str, float]]) -> None:
        counted = Counter((experiment, variant) for experiment, variant, _, _ in exposures)
        # Keys in several slots: a plain pipeline, which a cluster splits by node.
        async with self._redis.pipeline(transaction=False) as pipe:
            for experiment, variant, subject, at in exposures:
                event = {"experiment": experiment, "variant": variant, "subject": subject}
                pipe.xadd(
                    keys.EXPOSURES,
                    {"event": json.dumps(event), "at": f"{at:.3f}"},
                    maxlen=self._max_events,
                    approximate=True,
                )
            for (experiment, variant), count in counted.items():
                pipe.hincrby(keys.exposure_counts(experiment), variant, count)
            await pipe.execute()

    async def counts(self, experiment: str) -> Counter[str]:
        await self._soon.flush()
        stored = await self._redis.hgetall(keys.exposure_counts(experiment))
        return Counter({_text(variant): int(count) for variant, count in stored.items()})

    async def close(self) -> None:
        await self._soon.close()


class RedisCounterStore(CounterStore):
    """A hash per key: HINCRBY, HGETALL (one key each, any slot)."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def add(self, key: str, name: str, amount: int = 1) -> None:
        await self._redis.hincrby(key, name, amount)

    async def read(self, key: str) -> Counter[str]:
        stored = await self._redis.hgetall(key)
        return Counter({_text(name): int(count) for name, count in stored.items()})


# Conversation order (docs/architecture.md, "Conversation order across processes"): a FIFO
# list of tickets per conversation. The head holds the turn under a lease (a key with a TTL
# that the holder renews while it works); every waiter's ticket also expires, so a crashed
# holder or waiter is skipped once its key is gone. A waiter blocks on its own wake-up list
# (BLPOP) until the holder before it releases, or at most until the holder's lease would run
# out: no polling sleeps and no key scans.
#
# With ARGV[4] == '1' the ticket first joins the queue (the queue lives ARGV[6] ms; the
# ticket's key the lease, ARGV[3] ms, while it holds the turn, and ARGV[5] ms while it waits),
# so an uncontended turn costs one round trip. Before it joins, it counts into a moving window
# (ARGV[8] > 0: at most ARGV[8] in ARGV[9] ms, under the key after the delivery's), kept as the
# ``limits`` library keeps one (a list of times, newest first, trimmed to the amount) without
# a round trip of its own; a full window refuses with {-3, ms until it takes one more, 1 for its
# first refusal}. Then a delivery (ARGV[7] > 0: KEYS[2] is the update's key, kept ARGV[7] ms)
# already seen returns {-2, 0}. A ticket whose key exists has joined already: a try sent again
# after its first went unanswered but ran (a read that timed out, a dropped connection) neither
# joins nor counts twice, nor takes its own delivery for a re-delivery.
# Returns {1, 0, ...} when the caller now holds the turn, followed by the values of the keys
# after the queue, the delivery and the window (the key the turn carries, then the keys it
# reads), {0, ms} while ticket ARGV[1] waits behind a live holder whose key lives ms longer,
# {-1, 0} when the ticket is gone. Leaving writes the carried key first (ARGV[4] 'set' with
# value ARGV[5] for ARGV[6] ms, or 'del'), so a turn's session and its release are one round
# trip.
# Every call from a script costs Redis more than the command itself, and Redis is what the
# workers share: a ticket that joins an empty queue holds the turn at once (its key written
# once, with the lease), and the keys a turn reads come in one MGET (docs/benchmarks.md).
_TRY_TAKE = """
local queue, me, lease = KEYS[1], ARGV[1], ARGV[3]
local ticket = ARGV[2] .. 'ticket:' .. me
local delivery = ARGV[7] ~= '0' and 2
local window = ARGV[8] ~= '0' and (delivery and 3 or 2)
local first_read = 2 + (delivery and 1 or 0) + (window and 1 or 0)
local function over_limit()
  local amount, span = tonumber(ARGV[8]), tonumber(ARGV[9])
  local clock = redis.call('TIME')
  local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
  local oldest = redis.call('LINDEX', KEYS[window], amount - 1)
  if oldest and tonumber(oldest) > now - span then
    local first = redis.call('SET', KEYS[window] .. ':notice', '1', 'NX', 'PX', span)
    return {-3, tonumber(oldest) + span - now, first and 1 or 0}
  end
  if redis.call('LPUSH', KEYS[window], now) > amount then
    redis.call('LTRIM', KEYS[window], 0, amount - 1)
  end
  redis.call('PEXPIRE', KEYS[window], span)
end
local function taken()
  local values = {1, 0}
  if first_read <= #KEYS then
    local read = redis.call('MGET', unpack(KEYS, first_read))
    for index = 1, #KEYS - first_read + 1 do values[index + 2] = read[index] end
  end
  return values
end
local joined = false
if ARGV[4] == '1' and redis.call('SET', ticket, '1', 'NX', 'PX', lease) then
  local refused = window and over_limit()
  if refused then
    redis.call('DEL', ticket)
    return refused
  end
  if delivery and not redis.call('SET', KEYS[delivery], me, 'NX', 'PX', ARGV[7]) then
    redis.call('DEL', ticket)
    return {-2, 0}
  end
  local length = redis.call('RPUSH', queue, me)
  redis.call('PEXPIRE', queue, ARGV[6])
  if length == 1 then return taken() end
  joined = true
end
while true do
  local head = redis.call('LINDEX', queue, 0)
  if not head then return {-1, 0} end
  if head == me then
    redis.call('SET', ticket, '1', 'PX', lease)
    return taken()
  end
  local ttl = redis.call('PTTL', ARGV[2] .. 'ticket:' .. head)
  if ttl > 0 then
    if joined then redis.call('PEXPIRE', ticket, ARGV[5]) end
    return {0, ttl}
  end
  redis.call('LPOP', queue)
end
"""

_LEAVE = """
local queue, me, prefix, wake_ttl = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if ARGV[4] == 'set' then
  redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[6])
elseif ARGV[4] == 'del' then
  redis.call('DEL', KEYS[2])
end
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
        redis: RedisClient,
        lease_seconds: float,
        max_wait_seconds: float,
        waits: RedisClient | None = None,
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
    async def turn(
        self,
        conversation_key: str,
        carrying: str | None = None,
        reading: Sequence[str] = (),
        delivery: Delivery | None = None,
        counted: Counted | None = None,
    ) -> AsyncIterator[HeldTurn]:
        ticket = uuid.uuid4().hex
        queue = keys.order_queue(conversation_key)
        prefix = keys.order_ticket(conversation_key, "")[: -len("ticket:")]
        waiting_ms = int((self._max_wait + self._lease_ms / 1000) * 1000)
        carried_keys = [] if carrying is None else [carrying]
        leaving: list[str | int] = [ticket, prefix, waiting_ms]
        try:
            values = await self._wait_for_head(
                [
                    queue,
                    *([] if delivery is None else [delivery.key]),
                    *([] if counted is None else [counted.key]),
                    *carried_keys,
                    *reading,
                ],
                prefix,
                conversation_key,
                ticket,
                waiting_ms,
                [
                    0 if delivery is None else delivery.ttl_seconds * 1000,
                    *([0, 0] if counted is None else [counted.amount, counted.seconds * 1000]),
                ],
            )
        except (Redelivered, OverLimit):
            raise  # refused before joining the queue: nothing to leave
        except BaseException:
            await self._leave(keys=[queue], args=leaving)
            raise
        ticket_key = keys.order_ticket(conversation_key, ticket)
        renewal = LeaseRenewal(
            lambda: self._renew(keys=[queue, ticket_key], args=[ticket, self._lease_ms]),
            self._lease_ms / 3000,
        )
        texts = [_text_or_none(value) for value in values]
        carried = texts.pop(0) if carrying is not None else None
        held = HeldTurn(carried, dict(zip(reading, texts, strict=True)))
        try:
            yield held
        finally:
            await renewal.stop()
            if held.kept is None:
                await self._leave(keys=[queue], args=leaving)
            else:
                value, ttl_seconds = held.kept
                kept: list[str | int] = (
                    ["del"] if value is None else ["set", value, ttl_seconds * 1000]
                )
                await self._leave(keys=[queue, *carried_keys], args=[*leaving, *kept])

    async def _wait_for_head(
        self,
        turn_keys: list[str],
        prefix: str,
        conversation_key: str,
        ticket: str,
        waiting_ms: int,
        refusing: list[int],
    ) -> list[bytes | str | None]:
        """Waits for the turn; returns the values of the keys it reads as it was taken.
        ``refusing``: the delivery's TTL in ms, the window's amount and span in ms (0 for
        none)."""
        deadline = time.monotonic() + self._max_wait
        wake = keys.order_wake(conversation_key, ticket)
        joining = "1"
        while True:
            taken, holder_ttl_ms, *values = await self._try_take(
                keys=turn_keys,
                args=[
                    ticket,
                    prefix,
                    self._lease_ms,
                    joining,
                    waiting_ms,
                    waiting_ms + self._lease_ms,
                    *refusing,
                ],
            )
            if taken == -3:
                raise OverLimit(holder_ttl_ms / 1000, values[0] == 1)
            if taken == -2:
                raise Redelivered(turn_keys[1])
            joining = "0"
            if taken == 1:
                return cast(list[bytes | str | None], values)
            remaining = deadline - time.monotonic()
            if taken == -1 or remaining <= 0:
                raise TurnTimeout(conversation_key)
            timeout = max(0.01, min(remaining, holder_ttl_ms / 1000))
            await self._waits.blpop([wake], timeout=timeout)


class LeaseRenewal:
    """Renews a held turn's lease every ``every`` seconds. Most turns end long before the first
    renewal: until then it is a timer, not a task to create, cancel and wait for."""

    def __init__(self, renew: Callable[[], Awaitable[Any]], every: float) -> None:
        self._renew = renew
        self._every = every
        self._task: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(every, self._start)

    def _start(self) -> None:
        self._task = asyncio.create_task(self._keep())

    async def _keep(self) -> None:
        while True:
            await self._renew()
            await asyncio.sleep(self._every)

    async def stop(self) -> None:
        self._timer.cancel()
        if self._task is not None:
            await cancel_and_wait(self._task)


class RedisWakeups(Wakeups):
    """Redis pub/sub on ``keys.WEB_WAKEUPS``; a message is ``channel:conversation_id``.

    On a cluster it is sharded pub/sub (SPUBLISH, SSUBSCRIBE): the channel lives on the shard
    that owns its slot, instead of every message being broadcast to every node. redis-py's
    cluster pub/sub moves the subscription to the new primary after a failover; a message
    published while it moves is lost, as one published during a restart is on one server
    (the replies wait in the shared queue and the next hello flushes them).
    """

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def publish(self, address: Address) -> None:
        message = f"{address.channel}:{address.conversation_id}"
        if isinstance(self._redis, RedisCluster):
            await self._redis.spublish(keys.WEB_WAKEUPS, message)
        else:
            await self._redis.publish(keys.WEB_WAKEUPS, message)

    async def listen(self, ready: asyncio.Event) -> AsyncIterator[Address]:
        if isinstance(self._redis, RedisCluster):
            # The channel's shard comes from the slot map: read afresh, since listening
            # starts again after a failover, which this client may not have noticed yet.
            await self._redis.initialize()
            await self._redis.nodes_manager.initialize()
            sharded = self._redis.pubsub()
            try:
                await sharded.ssubscribe(keys.WEB_WAKEUPS)
                ready.set()
                while True:
                    found = await sharded.get_sharded_message(timeout=1.0)
                    if found is not None and found["type"] == "smessage":
                        yield _woken(found["data"])
            finally:
                await sharded.aclose()
        async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(keys.WEB_WAKEUPS)
            ready.set()
            async for message in pubsub.listen():
                yield _woken(message["data"])


def _woken(data: bytes | str) -> Address:
    channel, _, conversation = _text(data).partition(":")
    return Address(channel, conversation)


def redis_rate_limits(target: RedisTarget, pool: ConnectionPool | None) -> Storage:
    """The ``limits`` library's storage: on one server it shares the bot's connection pool, on a
    cluster it is the library's cluster storage with a client of its own."""
    if target.cluster:
        credentials = {"username": target.username, "password": target.password}
        options: dict[str, Any] = {k: v for k, v in credentials.items() if v is not None}
        options.update(CLUSTER_HANDSHAKE)
        if target.tls:
            options["ssl"] = True
        return RedisClusterStorage(
            target.limits_uri(),
            implementation="redispy",
            key_prefix=keys.RATE_LIMIT_PREFIX,
            **options,
        )
    # limits types its options as scalars, but hands a connection_pool to redis-py as it is.
    shared: dict[str, Any] = {"connection_pool": pool}
    return RedisStorage(
        target.limits_uri(), implementation="redispy", key_prefix=keys.RATE_LIMIT_PREFIX, **shared
    )


T = TypeVar("T")

CLUSTER_HANDSHAKE: dict[str, Any] = {"driver_info": None}
"""No ``CLIENT SETINFO`` on a new cluster connection: redis-py 8.1's asyncio cluster client
sends it while a concurrent command may use the same half-open connection, and the command
fails with ``'NoneType' object has no attribute 'writelines'`` (seen when 20 commands reach a
node before its first connection is up)."""

OUTAGE_ERRORS = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterDownError,
    SlotNotCoveredError,
    TryAgainError,
)
"""What a cluster answers while a primary is down and its replica not yet promoted."""


class RidesOutages:
    """Retries a command through an outage (a restart, a failover) for up to
    ``outage_seconds``, with pauses growing to half a second; mixed into redis-py's clients.

    redis-py's cluster client retries at once and gives up after a few tries, long before a
    replica is promoted (the cluster needs ``cluster-node-timeout`` to agree that the primary
    failed). A turn that failed half-way (its hold written in the database, its session not
    saved) would be retried by the guest and done twice; waiting lets the turns in flight
    finish instead. Each outage is logged when it starts and ends, and counted in ``outages``.
    """

    def __init__(
        self,
        *args: Any,
        outage_seconds: float = 10.0,
        outages: Outages | None = None,
        **kwargs: Any,
    ) -> None:
        """``outages``: shared by every client of one server (an outage counted once)."""
        super().__init__(*args, **kwargs)  # redis-py's client, after this mixin
        self.outage_seconds = outage_seconds
        self.outages = outages or Outages()

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        command = super().execute_command  # type: ignore[misc]
        if "target_nodes" in kwargs:  # a command for one named node is about that node
            return await command(*args, **kwargs)
        return await riding_outages(
            lambda: command(*args, **kwargs), self.outage_seconds, self.outages
        )


async def riding_outages(
    call: Callable[[], Awaitable[T]], outage_seconds: float, outages: Outages
) -> T:
    """``call``, retried through an outage for up to ``outage_seconds`` with pauses growing
    to half a second. A server that stops answering is an outage too once a read times out
    (the sockets' timeout, ``RSV_REDIS_COMMAND_SECONDS``)."""
    deadline = time.monotonic() + outage_seconds
    pause = 0.05
    while True:
        try:
            result = await call()
        except OUTAGE_ERRORS as error:
            if time.monotonic() + pause > deadline:
                raise
            outages.failing(error)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)
            continue
        outages.answering()
        return result


class OutageRidingRedis(RidesOutages, Redis):  # type: ignore[misc]  # redis-py's own mixins clash
    pass


class OutageRidingCluster(RidesOutages, RedisCluster):  # type: ignore[misc]
    pass


class Outages:
    """Redis outages that the client rode out: counted, and logged as they start and end."""

    def __init__(self) -> None:
        self.started = 0
        self.retries = 0
        self.seconds = 0.0
        self._since: float | None = None

    def failing(self, error: BaseException) -> None:
        self.retries += 1
        if self._since is None:
            self._since = time.monotonic()
            self.started += 1
            log.warning("redis_unavailable", error=type(error).__name__, detail=str(error))

    def answering(self) -> None:
        if self._since is not None:
            lasted = time.monotonic() - self._since
            self._since = None
            self.seconds += lasted
            log.warning("redis_recovered", seconds=round(lasted, 3), retries=self.retries)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _text_or_none(value: bytes | str | None) -> str | None:
    return None if value is None else _text(value)
