"""Remembers provider update ids so that a re-delivered update is handled once."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import OrderedDict

from redis.asyncio import Redis

from bot import keys
from bot.context import Turn
from bot.observability import Metrics
from bot.pipeline import Next
from bot.types import TurnResult


class DedupeStore(ABC):
    @abstractmethod
    async def first_seen(self, scope: str, update_id: str, ttl_seconds: int) -> bool:
        """Record the id within its scope; True only for the first call within ``ttl_seconds``.

        The scope is the conversation: ids that clients choose (REST ``message_id``, the widget's
        frame ``id``) are only unique per conversation, and provider ids stay unique in it too.
        """


class MemoryDedupeStore(DedupeStore):
    def __init__(self, max_entries: int = 100_000) -> None:
        self._expiry: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._max_entries = max_entries

    async def first_seen(self, scope: str, update_id: str, ttl_seconds: int) -> bool:
        now = time.monotonic()
        self._forget_expired(now)
        key = (scope, update_id)
        if key in self._expiry:
            return False
        self._expiry[key] = now + ttl_seconds
        if len(self._expiry) > self._max_entries:
            self._expiry.popitem(last=False)
        return True

    def _forget_expired(self, now: float) -> None:
        # Entries are inserted with one TTL, so expiry times grow along insertion order.
        while self._expiry:
            key, expires_at = next(iter(self._expiry.items()))
            if expires_at > now:
                return
            del self._expiry[key]


class RedisDedupeStore(DedupeStore):
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def first_seen(self, scope: str, update_id: str, ttl_seconds: int) -> bool:
        created = await self._redis.set(keys.dedupe(scope, update_id), 1, nx=True, ex=ttl_seconds)
        return bool(created)


class Dedupe:
    """Pipeline step: a re-delivered provider update ends here, unanswered."""

    def __init__(self, store: DedupeStore, ttl_seconds: int, metrics: Metrics) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._metrics = metrics

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        message = turn.message
        if message.update_id is not None and not await self._store.first_seen(
            turn.conversation_key, message.update_id, self._ttl
        ):
            self._metrics.dedupe_hits.labels(message.channel).inc()
            return TurnResult("duplicate")
        return await call_next(turn)
