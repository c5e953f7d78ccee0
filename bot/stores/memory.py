"""Every store kept in this process: for one process without Redis, and for tests.

Whatever expires lives in an ``ExpiringMap`` on the injected clock.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage

from bot.stores.base import (
    Clock,
    ConversationOrder,
    Counted,
    CounterStore,
    Delivery,
    ExposureLog,
    HeldTurn,
    ListStore,
    Media,
    MediaStore,
    Redelivered,
    TurnTimeout,
    ValueStore,
)
from bot.stores.expiring import ExpiringMap
from bot.stores.windows import RateWindows


class MemoryValueStore(ValueStore):
    def __init__(self, clock: Clock = time.monotonic, max_entries: int | None = None) -> None:
        self._values: ExpiringMap[str] = ExpiringMap(clock, max_entries)

    async def get(self, key: str) -> str | None:
        return self._values.get(key)

    async def put(self, key: str, value: str, ttl_seconds: int) -> None:
        self._values.put(key, value, ttl_seconds)

    async def put_new(self, key: str, value: str, ttl_seconds: int) -> bool:
        if self._values.get(key) is not None:
            return False
        self._values.put(key, value, ttl_seconds)
        return True

    async def put_all(self, values: Mapping[str, str], ttl_seconds: int) -> None:
        for key, value in values.items():
            self._values.put(key, value, ttl_seconds)

    async def get_all(self, keys: Sequence[str]) -> list[str | None]:
        return [self._values.get(key) for key in keys]

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._values.pop(key)


class MemoryListStore(ListStore):
    def __init__(self, clock: Clock = time.monotonic, max_lists: int | None = None) -> None:
        self._lists: ExpiringMap[tuple[str, ...]] = ExpiringMap(clock, max_lists)

    async def push(self, key: str, values: Sequence[str], keep: int, ttl_seconds: int) -> None:
        if values:
            kept = (*(self._lists.pop(key) or ()), *values)[-keep:]
            self._lists.put(key, kept, ttl_seconds)

    async def take(self, key: str) -> list[str]:
        return list(self._lists.pop(key) or ())


class MemoryMediaStore(MediaStore):
    """The newest pictures up to ``max_bytes`` in all."""

    def __init__(self, clock: Clock = time.monotonic, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._items: ExpiringMap[Media] = ExpiringMap(
            clock, max_bytes, size_of=lambda media: len(media.data)
        )

    async def put(self, key: str, media: Media, ttl_seconds: int) -> None:
        self._items.put(key, media, ttl_seconds)

    async def get(self, key: str) -> Media | None:
        return self._items.get(key)


class MemoryExposureLog(ExposureLog):
    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}

    async def record(self, experiment: str, variant: str, subject: str, at: datetime) -> None:
        self._counts.setdefault(experiment, Counter())[variant] += 1

    async def counts(self, experiment: str) -> Counter[str]:
        return Counter(self._counts.get(experiment, Counter()))

    async def close(self) -> None:
        """Nothing waits: counted as recorded."""


class MemoryCounterStore(CounterStore):
    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}

    async def add(self, key: str, name: str, amount: int = 1) -> None:
        self._counts.setdefault(key, Counter())[name] += amount

    async def read(self, key: str) -> Counter[str]:
        return Counter(self._counts.get(key, Counter()))


class MemoryConversationOrder(ConversationOrder):
    """asyncio.Lock hands itself to waiters first come, first served; carried and read keys are
    kept in ``values``, deliveries in ``deliveries`` (``values`` unless given), the counted
    windows in the ``limits`` library's memory."""

    def __init__(
        self,
        max_wait_seconds: float,
        values: ValueStore | None = None,
        deliveries: ValueStore | None = None,
    ) -> None:
        self._max_wait = max_wait_seconds
        self._values = values
        self._deliveries = deliveries or values
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._windows = RateWindows(MemoryStorage())

    @asynccontextmanager
    async def turn(
        self,
        conversation_key: str,
        carrying: str | None = None,
        reading: Sequence[str] = (),
        delivery: Delivery | None = None,
        counted: Counted | None = None,
    ) -> AsyncIterator[HeldTurn]:
        if counted is not None:
            window = RateLimitItemPerSecond(counted.amount, counted.seconds)
            await self._windows.count(window, counted.key)
        if delivery is not None and not await self._seen().put_new(
            delivery.key, "1", delivery.ttl_seconds
        ):
            raise Redelivered(delivery.key)
        lock, users = self._locks.get(conversation_key, (asyncio.Lock(), 0))
        self._locks[conversation_key] = (lock, users + 1)
        try:
            try:
                async with asyncio.timeout(self._max_wait):
                    await lock.acquire()
            except TimeoutError:
                raise TurnTimeout(conversation_key) from None
            try:
                carried = None if carrying is None else await self._kept().get(carrying)
                read = {key: await self._kept().get(key) for key in reading}
                held = HeldTurn(carried, read)
                yield held
                if carrying is not None and held.kept is not None:
                    await self._keep(carrying, *held.kept)
            finally:
                lock.release()
        finally:
            lock, users = self._locks[conversation_key]
            if users == 1:
                del self._locks[conversation_key]
            else:
                self._locks[conversation_key] = (lock, users - 1)

    def _kept(self) -> ValueStore:
        if self._values is None:
            raise TypeError("this conversation order keeps no values to carry or read")
        return self._values

    def _seen(self) -> ValueStore:
        if self._deliveries is None:
            raise TypeError("this conversation order keeps no deliveries")
        return self._deliveries

    async def _keep(self, key: str, value: str | None, ttl_seconds: int) -> None:
        if value is None:
            await self._kept().delete(key)
        else:
            await self._kept().put(key, value, ttl_seconds)
