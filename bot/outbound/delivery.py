"""Provider-safe delivery of messages the bot starts: a queue per destination, paced, retried.

Providers limit how fast a bot may write: Telegram about one message a second per chat and 30 a
second overall for bulk notifications, Slack about one a second per channel, Discord by the
buckets its rate-limit headers announce. Each channel adapter owns one ``Outbox``: a
``Courier`` (its ``Pace`` and a ``send`` coroutine that makes one provider call and translates
its failures) behind a queue per destination. The queue is ``DeliveryQueue`` here, in the
process, on the embedded default; with Redis it is ``bot.outbound.outbox.DurableOutbox``, kept
in Redis and drained by jobs, so nothing queued is lost on a restart. The courier's rules:

- ``RetryLater`` (429 with its ``retry_after``, 5xx, network errors): the same item is tried
  again after the provider's wait or an exponential backoff, at most ``max_attempts`` times,
  then dropped with a log line and ``rsv_deliveries{result="failed"}`` counted;
- ``Unreachable`` (the user blocked the bot): the destination is remembered as unreachable and
  its queued and later items are skipped until the user writes again;
- any other error: the item is dropped and counted; the queue goes on.

Items of one destination keep their order. Replies to a message the user just sent do not go
through the queue (``send_now``): they are not bulk, and making them wait would slow every chat.
At a graceful shutdown the in-process queue is given ``FLUSH_SECONDS`` to send what it holds.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import structlog

from bot.core.loops import cancel_and_wait
from bot.core.observability import Metrics, pseudonym
from bot.stores import keys
from bot.stores.base import ValueStore

log = structlog.get_logger("rsv360.delivery")

T = TypeVar("T")
Send = Callable[[str, T], Awaitable[None]]
"""One provider call for one item to a destination (a chat or channel id)."""
UNREACHABLE_TTL_SECONDS = 180 * 24 * 60 * 60
FLUSH_SECONDS = 10.0


class RetryLater(Exception):
    """The provider is busy or down; ``retry_after`` is its own wait in seconds when it said."""

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class Unreachable(Exception):
    """The destination refuses the bot for good (blocked, kicked, deleted)."""


@dataclass(frozen=True, slots=True)
class Pace:
    per_destination_seconds: float
    """Least time between two items to one destination."""
    overall_per_second: float | None = None
    """Most items per second over all destinations; None for no overall limit."""
    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0


class UnreachableStore:
    """Destinations that refused the bot, remembered ``UNREACHABLE_TTL_SECONDS``."""

    def __init__(self, values: ValueStore) -> None:
        self._values = values

    async def mark(self, address_key: str) -> None:
        await self._values.put(keys.unreachable(address_key), "1", UNREACHABLE_TTL_SECONDS)

    async def clear(self, address_key: str) -> None:
        await self._values.delete(keys.unreachable(address_key))

    async def is_marked(self, address_key: str) -> bool:
        return await self._values.get(keys.unreachable(address_key)) is not None


class Outbox(Protocol[T]):
    """What a channel adapter delivers through (see the module's notes)."""

    async def put(self, destination: str, items: list[T]) -> bool:
        """Queue items for a destination; False (nothing queued) when it is unreachable."""

    async def send_now(self, destination: str, item: T) -> bool:
        """Send one item at once (a reply), with the same retries; True when it was sent."""

    async def reachable_again(self, destination: str) -> None:
        """The user wrote to the bot: whatever blocked it is over."""

    async def mark_unreachable(self, destination: str) -> None:
        """The provider said later that the destination refuses messages (a status callback)."""

    async def join(self) -> None:
        """Wait until what this process queued has been sent or given up."""

    async def close(self) -> None: ...


class Courier(Generic[T]):
    """One channel's provider calls: retried, counted, and unreachable destinations kept."""

    def __init__(
        self,
        channel: str,
        send: Send[T],
        pace: Pace,
        metrics: Metrics,
        unreachable: UnreachableStore,
    ) -> None:
        self.channel = channel
        self.pace = pace
        self._send = send
        self._metrics = metrics
        self._unreachable = unreachable

    async def admits(self, destination: str, count: int) -> bool:
        """False (and the items counted as skipped) when the destination refused the bot."""
        if not await self._unreachable.is_marked(self._key(destination)):
            return True
        self._metrics.deliveries.labels(self.channel, "skipped").inc(count)
        log.info("delivery_skipped", channel=self.channel, to=self._pseudonym(destination))
        return False

    async def reachable_again(self, destination: str) -> None:
        await self._unreachable.clear(self._key(destination))

    async def mark_unreachable(self, destination: str) -> None:
        """The provider said later that the destination refuses messages (a status callback)."""
        await self._unreachable.mark(self._key(destination))
        self._metrics.deliveries.labels(self.channel, "unreachable").inc()

    async def is_unreachable(self, destination: str) -> bool:
        return await self._unreachable.is_marked(self._key(destination))

    def skipped(self, count: int) -> None:
        self._metrics.deliveries.labels(self.channel, "skipped").inc(count)

    async def attempt(self, destination: str, item: T) -> bool:
        """Send one item, retrying what the provider asks to retry; True when it was sent."""
        for attempt in range(1, self.pace.max_attempts + 1):
            try:
                await self._send(destination, item)
            except RetryLater as busy:
                self._metrics.delivery_retries.labels(self.channel).inc()
                if busy.retry_after is not None:
                    self._metrics.delivery_throttled.labels(self.channel).inc()
                if attempt == self.pace.max_attempts:
                    break
                await asyncio.sleep(self._backoff(attempt, busy.retry_after))
            except Unreachable:
                await self._unreachable.mark(self._key(destination))
                self._metrics.deliveries.labels(self.channel, "unreachable").inc()
                log.warning(
                    "delivery_unreachable", channel=self.channel, to=self._pseudonym(destination)
                )
                return False
            except Exception as error:  # this item only: the queue goes on
                self._metrics.deliveries.labels(self.channel, "failed").inc()
                self._metrics.loops.count("delivery")
                log.error(
                    "delivery_rejected",
                    channel=self.channel,
                    to=self._pseudonym(destination),
                    error=type(error).__name__,
                )
                return False
            else:
                self._metrics.deliveries.labels(self.channel, "sent").inc()
                return True
        self._metrics.deliveries.labels(self.channel, "failed").inc()
        log.error(
            "delivery_failed",
            channel=self.channel,
            to=self._pseudonym(destination),
            attempts=self.pace.max_attempts,
        )
        return False

    def isolated(self) -> AbstractContextManager[None]:
        return self._metrics.loops.isolated("delivery")

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        pace = self.pace
        ceiling = min(pace.max_backoff_seconds, pace.backoff_seconds * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # jitter: retries of many chats spread out

    def _key(self, destination: str) -> str:
        return f"{self.channel}:{destination}"

    def _pseudonym(self, destination: str) -> str:
        return pseudonym(self._key(destination))


class DeliveryQueue(Generic[T]):
    """The in-process outbox: a queue and a worker task per destination."""

    def __init__(
        self,
        courier: Courier[T],
        clock: Callable[[], float] = time.monotonic,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self._courier = courier
        self._pace = courier.pace
        self._clock = clock
        self._flush_seconds = flush_seconds
        self._queues: dict[str, deque[T]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._next_at: dict[str, float] = {}
        self._overall_next_at = 0.0

    async def put(self, destination: str, items: list[T]) -> bool:
        if not await self._courier.admits(destination, len(items)):
            return False
        self._queues.setdefault(destination, deque()).extend(items)
        if destination not in self._workers:
            worker = asyncio.create_task(self._drain(destination))
            self._workers[destination] = worker
        return True

    async def send_now(self, destination: str, item: T) -> bool:
        return await self._courier.attempt(destination, item)

    async def mark_unreachable(self, destination: str) -> None:
        await self._courier.mark_unreachable(destination)

    async def reachable_again(self, destination: str) -> None:
        await self._courier.reachable_again(destination)

    async def join(self) -> None:
        """Wait until every queued item has been sent or given up."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def close(self) -> None:
        """Send what is queued, for at most ``flush_seconds``; then give the rest up."""
        try:
            await asyncio.wait_for(self.join(), self._flush_seconds)
        except TimeoutError:
            left = sum(len(queue) for queue in self._queues.values())
            log.warning("delivery_unflushed", channel=self._courier.channel, items=left)
        await asyncio.gather(*(cancel_and_wait(worker) for worker in list(self._workers.values())))
        self._workers.clear()

    async def _drain(self, destination: str) -> None:
        queue = self._queues[destination]
        try:
            while queue:
                with self._courier.isolated():
                    await self._deliver(destination, queue)
        finally:
            del self._workers[destination]
            if not queue:
                del self._queues[destination]
                self._next_at.pop(destination, None)

    async def _deliver(self, destination: str, queue: deque[T]) -> None:
        item = queue.popleft()  # taken first: a failing item is never tried again here
        await self._wait_turn(destination)
        sent = await self._courier.attempt(destination, item)
        # From the answer, not the request: two calls in flight could arrive closer together
        # at the provider than they left here.
        self._next_at[destination] = self._clock() + self._pace.per_destination_seconds
        if not sent and await self._courier.is_unreachable(destination):
            self._courier.skipped(len(queue))
            queue.clear()

    async def _wait_turn(self, destination: str) -> None:
        """Sleep until the destination's next slot, reserving an overall slot too."""
        now = self._clock()
        slot = max(now, self._next_at.get(destination, 0.0))
        if self._pace.overall_per_second:
            slot = max(slot, self._overall_next_at)
            self._overall_next_at = slot + 1 / self._pace.overall_per_second
        if slot > now:
            await asyncio.sleep(slot - now)
