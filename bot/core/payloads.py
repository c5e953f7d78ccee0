"""Button payloads that fit a provider's field: Telegram's callback data holds 64 bytes and
Discord's custom_id 100 characters, while our payloads (``intent:refund_approve|id=...``) may be
longer. A long payload travels as a short key (``~`` and a hash of it) and is looked up when
the button is pressed; the same payload always gets the same key, so nothing piles up.
"""

from __future__ import annotations

import base64
import hashlib

from bot.stores import keys
from bot.stores.base import ValueStore

SHORT_PREFIX = "~"
PAYLOAD_TTL_SECONDS = 30 * 24 * 60 * 60
"""Long enough for a button in an old message to keep working."""


class PayloadStore:
    def __init__(self, values: ValueStore) -> None:
        self._values = values

    async def shorten(self, payload: str, max_bytes: int) -> str:
        """The payload itself when it fits, else its short key (stored for ``expand``)."""
        if len(payload.encode()) <= max_bytes and not payload.startswith(SHORT_PREFIX):
            return payload
        digest = hashlib.sha256(payload.encode()).digest()
        key = SHORT_PREFIX + base64.urlsafe_b64encode(digest[:15]).decode()
        await self._values.put(keys.short_payload(key), payload, PAYLOAD_TTL_SECONDS)
        return key

    async def expand(self, data: str) -> str | None:
        """The payload a button carries; None for a short key that is unknown or expired."""
        if not data.startswith(SHORT_PREFIX):
            return data
        return await self._values.get(keys.short_payload(data))
