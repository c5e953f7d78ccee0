"""Messages the bot starts: a payment confirmed, a hold expired, told to a guest's chat.

The ``Notifier`` renders outcomes in the recipient's locale with the markup of its channel and
hands the replies to that channel's deliverer, a callable the composition root registers. When
the conversation has no open connection, the replies wait in a short per-conversation queue
(at most ``MAX_PENDING`` replies, kept a day) until the conversation connects again and the
channel calls ``flush``.

Delivery and flushing of one conversation run under one lock, so a reply pushed while the
conversation reconnects is either delivered to the new connection or found by its flush.

With several processes (Redis configured), a channel whose connections live in one process
(the web widget's sockets) is registered ``relayed``: a notify in any process pushes the
replies to the shared queue and publishes a wake-up (Redis pub/sub); the process holding the
conversation's socket flushes it (``follow``). Nobody holding it: the replies wait as before.
Provider channels (Telegram, Slack, Discord) need none of this: any process can call the
provider's API, through the adapter's paced queue (``bot.outbound.delivery``).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence

import structlog

from bot.core.observability import pseudonym
from bot.core.render import Markup, Renderer
from bot.core.types import Address, Outcome, Reply, reply_document, reply_from_document
from bot.stores import keys
from bot.stores.base import ListStore, Wakeups

log = structlog.get_logger("rsv360.proactive")

MAX_PENDING = 20
PENDING_TTL_SECONDS = 24 * 60 * 60

Deliver = Callable[[Address, Sequence[Reply]], Awaitable[bool]]
"""Sends replies to every open connection of a conversation; False when it has none."""


class PendingReplies:
    """Replies waiting for a conversation to connect, oldest first, the newest ``MAX_PENDING``,
    kept ``PENDING_TTL_SECONDS`` after the last push."""

    def __init__(self, lists: ListStore) -> None:
        self._lists = lists

    async def push(self, address: Address, replies: Sequence[Reply]) -> None:
        documents = [json.dumps(reply_document(reply)) for reply in replies]
        key = keys.pending_replies(_conversation_key(address))
        await self._lists.push(key, documents, MAX_PENDING, PENDING_TTL_SECONDS)

    async def take(self, address: Address) -> list[Reply]:
        """Every waiting reply of the conversation, removed from the queue."""
        documents = await self._lists.take(keys.pending_replies(_conversation_key(address)))
        return [reply_from_document(json.loads(document)) for document in documents]


class Notifier:
    def __init__(
        self,
        renderer: Renderer,
        markups: Mapping[str, Markup],
        pending: PendingReplies,
        wakeups: Wakeups | None = None,
    ) -> None:
        self._renderer = renderer
        self._markups = markups
        self._pending = pending
        self._wakeups = wakeups
        self._relayed: set[str] = set()
        self._deliverers: dict[str, Deliver] = {}
        self._locks: weakref.WeakValueDictionary[Address, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def register(self, channel: str, deliver: Deliver, *, relayed: bool = False) -> None:
        """The channel that can reach its open conversations (one deliverer per channel);
        ``relayed`` when they are open in one process only (see the module's notes)."""
        self._deliverers[channel] = deliver
        if relayed:
            self._relayed.add(channel)

    def reaches(self, channel: str) -> bool:
        """Whether replies the bot starts can reach the channel's conversations (REST and the
        terminal answer requests only)."""
        return channel in self._deliverers

    async def follow(
        self, channel: str, holds: Callable[[str], bool], ready: asyncio.Event
    ) -> None:
        """Flush each woken conversation of ``channel`` this process holds (runs until
        cancelled); ``ready`` is set once subscribed. Returns at once without Redis."""
        if self._wakeups is None:
            ready.set()
            return
        # Imported here: wake-ups exist only with Redis, and a command that merely sends a
        # notice (``rsv360 payments``) starts without redis-py.
        from redis.exceptions import RedisError

        while True:
            try:
                async for address in self._wakeups.listen(ready):
                    if address.channel == channel and holds(address.conversation_id):
                        await self.flush(address)
            except (ConnectionError, RedisError):
                # Replies wait in the shared queue meanwhile; the next hello flushes them.
                log.exception("wakeups_lost", channel=channel)
                await asyncio.sleep(1.0)

    async def notify(
        self, address: Address, locale: str | None, outcomes: Sequence[Outcome]
    ) -> None:
        """Render the outcomes for the conversation and deliver them now or when it connects."""
        deliver = self._deliverers.get(address.channel)
        if deliver is None:
            log.warning("proactive_unreachable", channel=address.channel)
            return
        markup = self._markups.get(address.channel, "plain")
        language = self._renderer.locale_for(locale)
        replies = [self._renderer.render(outcome, language, markup) for outcome in outcomes]
        if self._wakeups is not None and address.channel in self._relayed:
            await self._pending.push(address, replies)
            await self._wakeups.publish(address)
            delivered = False  # whichever process holds the conversation flushes it
        else:
            async with self._lock(address):
                delivered = await self._deliver(deliver, address, replies)
                if not delivered:
                    await self._pending.push(address, replies)
        log.info(
            "proactive",
            channel=address.channel,
            conversation=pseudonym(_conversation_key(address)),
            templates=[outcome.template for outcome in outcomes],
            delivered=delivered,
        )

    async def flush(self, address: Address) -> None:
        """Deliver what waited for the conversation; the channel calls it when it connects."""
        deliver = self._deliverers.get(address.channel)
        if deliver is None:
            return
        async with self._lock(address):
            try:
                replies = await self._pending.take(address)
            except Exception:  # the store is down: the connection itself must not fail
                log.exception("pending_replies_unavailable", channel=address.channel)
                return
            if replies and not await self._deliver(deliver, address, replies):
                await self._pending.push(address, replies)  # it went away again meanwhile

    def _lock(self, address: Address) -> asyncio.Lock:
        lock = self._locks.get(address)
        if lock is None:
            lock = self._locks[address] = asyncio.Lock()
        return lock

    @staticmethod
    async def _deliver(deliver: Deliver, address: Address, replies: Sequence[Reply]) -> bool:
        try:
            return await deliver(address, replies)
        except Exception:
            log.exception("proactive_delivery_failed", channel=address.channel)
            return False


def _conversation_key(address: Address) -> str:
    return f"{address.channel}:{address.conversation_id}"
