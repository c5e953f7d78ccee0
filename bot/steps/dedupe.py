"""Remembers provider update ids so that a re-delivered update is handled once."""

from __future__ import annotations

from bot.core.context import Turn
from bot.core.observability import Metrics
from bot.core.pipeline import Next
from bot.core.types import TurnResult
from bot.stores import keys
from bot.stores.base import ValueStore


class DedupeStore:
    """Update ids seen per scope, each remembered ``ttl_seconds``."""

    def __init__(self, values: ValueStore) -> None:
        self._values = values

    async def first_seen(self, scope: str, update_id: str, ttl_seconds: int) -> bool:
        """Record the id within its scope; True only for the first call within ``ttl_seconds``.

        The scope is the conversation: ids that clients choose (REST ``message_id``, the widget's
        frame ``id``) are only unique per conversation, and provider ids stay unique in it too.
        """
        return await self._values.put_new(keys.dedupe(scope, update_id), "1", ttl_seconds)


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
