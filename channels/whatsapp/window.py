"""The 24-hour customer-service window, and the notices sent, for a template when it closed.

WhatsApp accepts free-form messages to a guest only within 24 hours of their last message.
``ConversationWindow`` remembers when each guest last wrote (by the injectable clock, so a test
can let 25 hours pass); ``SentNotices`` remembers, per message id Meta gave us, which notice a
proactive message carried, so that a ``failed`` status saying the window had closed can send
the approved template instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.core.types import Notice
from bot.stores.base import ValueStore
from bot.stores.keys import PREFIX

WINDOW_SECONDS = 24 * 60 * 60
REMEMBERED_SECONDS = 7 * 24 * 60 * 60
"""The last-message time outlives the window: after it the answer is "closed", not "unknown"."""


def _last_message_key(recipient: str) -> str:
    return f"{PREFIX}:whatsapp:last_message:{recipient}"


def _sent_key(message_id: str) -> str:
    return f"{PREFIX}:whatsapp:sent:{message_id}"


class ConversationWindow:
    def __init__(self, values: ValueStore, clock: Callable[[], float] = time.time) -> None:
        self._values = values
        self._clock = clock

    async def guest_wrote(self, recipient: str) -> None:
        await self._values.put(_last_message_key(recipient), str(self._clock()), REMEMBERED_SECONDS)

    async def closed(self, recipient: str) -> None:
        """Meta says the window is closed, whatever we remembered."""
        await self._values.delete(_last_message_key(recipient))

    async def is_open(self, recipient: str) -> bool:
        last = await self._values.get(_last_message_key(recipient))
        return last is not None and self._clock() - float(last) < WINDOW_SECONDS


@dataclass(frozen=True, slots=True)
class SentNotice:
    recipient: str
    notice: Notice


class SentNotices:
    def __init__(self, values: ValueStore) -> None:
        self._values = values

    async def remember(self, message_id: str, recipient: str, notice: Notice) -> None:
        document = {
            "recipient": recipient,
            "template": notice.template,
            "locale": notice.locale,
            "values": {name: _text(value) for name, value in notice.values.items()},
        }
        await self._values.put(_sent_key(message_id), json.dumps(document), WINDOW_SECONDS)

    async def take(self, message_id: str) -> SentNotice | None:
        """The notice a message carried, forgotten once taken (one template per failure)."""
        key = _sent_key(message_id)
        document = await self._values.get(key)
        if document is None:
            return None
        await self._values.delete(key)
        stored = json.loads(document)
        notice = Notice(stored["template"], stored["values"], stored["locale"])
        return SentNotice(stored["recipient"], notice)


def _text(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)
