"""One message at a time per conversation, in arrival order, within and across processes.

The Redis implementation keeps a FIFO list of tickets per conversation. The head of the list
holds the turn under a lease (a key with a TTL that the holder renews while it works); every
waiter's ticket also expires, so a crashed holder or waiter is skipped once its key is gone.
A waiter blocks on its own wake-up list (BLPOP) until the holder before it releases, or at
most until the holder's lease would run out: no polling sleeps and no key scans.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from redis.asyncio import Redis

from bot import keys
from bot.context import Turn
from bot.observability import Metrics
from bot.pipeline import Next
from bot.respond import Responder
from bot.types import Outcome, TurnResult


class TurnTimeout(Exception):
    """The conversation stayed busy for longer than the bounded wait."""


class ConversationOrder(ABC):
    @abstractmethod
    def turn(self, conversation_key: str) -> Any:
        """An async context manager that holds the conversation's turn while inside it."""


class MemoryConversationOrder(ConversationOrder):
    """asyncio.Lock hands itself to waiters first come, first served."""

    def __init__(self, max_wait_seconds: float) -> None:
        self._max_wait = max_wait_seconds
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def turn(self, conversation_key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(conversation_key, (asyncio.Lock(), 0))
        self._locks[conversation_key] = (lock, users + 1)
        try:
            try:
                async with asyncio.timeout(self._max_wait):
                    await lock.acquire()
            except TimeoutError:
                raise TurnTimeout(conversation_key) from None
            try:
                yield
            finally:
                lock.release()
        finally:
            lock, users = self._locks[conversation_key]
            if users == 1:
                del self._locks[conversation_key]
            else:
                self._locks[conversation_key] = (lock, users - 1)


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


class Order:
    """Pipeline step: holds the conversation's turn while the rest of the pipeline runs."""

    def __init__(self, order: ConversationOrder, responder: Responder, metrics: Metrics) -> None:
        self._order = order
        self._responder = responder
        self._metrics = metrics

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        started = time.perf_counter()
        try:
            async with self._order.turn(turn.conversation_key):
                self._metrics.order_wait_seconds.observe(time.perf_counter() - started)
                return await call_next(turn)
        except TurnTimeout:
            self._metrics.order_timeouts.inc()
            replies = await self._responder.replies(turn, [Outcome("engine/busy")])
            return TurnResult("busy", replies, retry_after=1.0)
