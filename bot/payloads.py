"""Button payloads that fit a provider's field: Telegram's callback data holds 64 bytes and
Discord's custom_id 100 characters, while our payloads (``intent:refund_approve|id=...``) may be
longer. A long payload travels as a short key (``~`` and a hash of it) and is looked up when
the button is pressed; the same payload always gets the same key, so nothing piles up.
"""

from __future__ import annotations

import base64
import hashlib
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable

from redis.asyncio import Redis

from bot import keys

SHORT_PREFIX = "~"
PAYLOAD_TTL_SECONDS = 30 * 24 * 60 * 60
"""Long enough for a button in an old message to keep working."""


class PayloadStore(ABC):
    async def shorten(self, payload: str, max_bytes: int) -> str:
        """The payload itself when it fits, else its short key (stored for ``expand``)."""
        if len(payload.encode()) <= max_bytes and not payload.startswith(SHORT_PREFIX):
            return payload
        digest = hashlib.sha256(payload.encode()).digest()
        key = SHORT_PREFIX + base64.urlsafe_b64encode(digest[:15]).decode()
        await self._put(key, payload)
        return key

    async def expand(self, data: str) -> str | None:
        """The payload a button carries; None for a short key that is unknown or expired."""
        if not data.startswith(SHORT_PREFIX):
            return data
        return await self._get(data)

    @abstractmethod
    async def _put(self, key: str, payload: str) -> None: ...

    @abstractmethod
    async def _get(self, key: str) -> str | None: ...


class MemoryPayloadStore(PayloadStore):
    def __init__(
        self,
        max_entries: int = 100_000,
        ttl_seconds: float = PAYLOAD_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._items: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._clock = clock

    async def _put(self, key: str, payload: str) -> None:
        self._items.pop(key, None)
        self._items[key] = (payload, self._clock() + self._ttl)
        while len(self._items) > self._max_entries:
            self._items.popitem(last=False)

    async def _get(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is None or item[1] <= self._clock():
            return None
        return item[0]


class RedisPayloadStore(PayloadStore):
    def __init__(self, redis: Redis, ttl_seconds: int = PAYLOAD_TTL_SECONDS) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def _put(self, key: str, payload: str) -> None:
        await self._redis.set(keys.short_payload(key), payload, ex=self._ttl)

    async def _get(self, key: str) -> str | None:
        raw = await self._redis.get(keys.short_payload(key))
        return raw.decode() if isinstance(raw, bytes) else raw
