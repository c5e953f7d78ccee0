"""The skeleton of a provider channel (Telegram, Slack, Discord; WhatsApp next).

A channel subclasses ``ProviderChannel`` and keeps only what is its provider's: reading an
update into an ``Inbound`` (who wrote where, what, in which language, in which groups),
acknowledging the provider, and an ``Answer`` that sends a reply back where the message came
from. The rest is done here, the same way for every channel:

- ``turn``: the ``Message`` with the sender's role from the ``RoleBook``, the engine, and the
  replies handed to the ``Answer`` in order, stopping at the first one not sent (the rest would
  arrive out of context);
- one over-long-text rule: text over ``max_text_chars`` never reaches the engine, and the sender
  is told ``errors/message_too_long`` in their language;
- ``work``: the turns run after the provider is acknowledged, at most ``max_in_flight`` at once
  (``channels.background``), drained at shutdown;
- ``deliver``: the notifier's deliverer, through the channel's paced ``Outbox``
  (in the process, or durable in Redis and drained by jobs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import structlog

from bot.core.engine import Engine
from bot.core.observability import pseudonym
from bot.core.render import Renderer
from bot.core.roles import RoleBook
from bot.core.types import Address, Message, Outcome, Reply
from bot.outbound.delivery import Outbox
from channels.background import MAX_IN_FLIGHT, BackgroundWork

TOO_LONG = Outcome("errors/message_too_long")

Answer = Callable[[Reply], Awaitable[bool]]
"""Sends one reply of a turn where the message came from; False when it was not sent."""
Thinking = AbstractAsyncContextManager[object] | None
"""What the provider shows while the engine works (Telegram's typing), if anything."""

log = structlog.get_logger("rsv360.channels")


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message as the channel read it from its provider's update."""

    conversation_id: str
    user_id: str
    update_id: str
    text: str | None = None
    payload: str | None = None
    locale_hint: str | None = None
    groups: tuple[str, ...] = ()
    """The sender's groups on the provider (Slack user groups, Discord roles), for the role."""


class ProviderChannel:
    def __init__(
        self,
        channel: str,
        engine: Engine[Any],
        renderer: Renderer,
        roles: RoleBook,
        queue: Outbox[Reply],
        max_text_chars: int,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.channel = channel
        self.work = BackgroundWork(channel, max_in_flight)
        self._engine = engine
        self._renderer = renderer
        self._roles = roles
        self._queue = queue
        self._max_text_chars = max_text_chars

    async def turn(self, inbound: Inbound, answer: Answer, thinking: Thinking = None) -> None:
        """One message in, its replies out."""
        async with thinking or nullcontext():
            replies = await self._replies(inbound)
        where = pseudonym(f"{self.channel}:{inbound.conversation_id}")
        for reply in replies:
            try:
                sent = await answer(reply)
            except Exception as error:  # a direct answer's failure (Slack's respond, a follow-up)
                failure = type(error).__name__
                log.error(
                    "channel_reply_failed", channel=self.channel, conversation=where, error=failure
                )
                return
            if not sent:
                log.warning("channel_reply_lost", channel=self.channel, conversation=where)
                return

    async def deliver(self, address: Address, replies: Sequence[Reply]) -> bool:
        """The notifier's deliverer: queued, paced and retried; True once queued."""
        return await self._queue.put(address.conversation_id, list(replies))

    async def drain(self) -> None:
        """Wait for the turns under way (shutdown lets them finish; tests wait on it)."""
        await self.work.drain()

    async def open_for_sending(self) -> None:
        """What a process that only sends (a job worker) needs first; most channels nothing."""

    async def close(self) -> None:
        await self.drain()
        await self._queue.close()

    async def _replies(self, inbound: Inbound) -> Sequence[Reply]:
        if inbound.text is not None and len(inbound.text) > self._max_text_chars:
            locale = self._renderer.locale_for(inbound.locale_hint)
            return (self._renderer.render(TOO_LONG, locale, "plain"),)
        result = await self._engine.handle(
            Message(
                channel=self.channel,
                conversation_id=inbound.conversation_id,
                user_id=inbound.user_id,
                text=inbound.text,
                payload=inbound.payload,
                locale_hint=inbound.locale_hint,
                update_id=inbound.update_id,
                role=self._roles.role_of(self.channel, inbound.user_id, inbound.groups),
            )
        )
        return result.replies
