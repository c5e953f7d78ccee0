"""Remembers provider update ids so that a re-delivered update is handled once.

A conversation's turn remembers its update as it is asked for (``bot.steps.ordering``); this
store serves the rest (Slack's events, a checkout form sent twice, WhatsApp's messages
before they become a turn)."""

from __future__ import annotations

from bot.stores import keys
from bot.stores.base import ValueStore


class DedupeStore:
    """Update ids seen per scope, each remembered ``ttl_seconds``."""

    def __init__(self, values: ValueStore) -> None:
        self._values = values

    async def first_seen(self, scope: str, update_id: str, ttl_seconds: int) -> bool:
        """Record the id within its scope; True only for the first call within ``ttl_seconds``.

        The scope is what the id is unique in: a conversation, Slack's events, a checkout form.
        """
        return await self._values.put_new(keys.dedupe(scope, update_id), "1", ttl_seconds)
