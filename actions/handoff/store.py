"""Open handoffs: a guest conversation's request by ticket, and the staff member who took it.

A ticket is short (it travels in button payloads). Three lookups are kept: ticket → request,
guest conversation → ticket, and staff conversation+user → ticket, each for ``TTL_SECONDS``
after the last change, so a forgotten handoff ends by itself.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Literal

from redis.asyncio import Redis

from bot.keys import PREFIX

TTL_SECONDS = 2 * 24 * 60 * 60
REQUESTED = "requested"
TAKEN = "taken"


@dataclass(frozen=True, slots=True)
class Handoff:
    ticket: str
    guest: str
    """The guest's conversation as ``channel:conversation_id``."""
    locale: str
    status: str = REQUESTED
    staff: str | None = None
    """Who took it: ``channel:conversation_id:user_id`` of the staff member."""


class HandoffStore(ABC):
    @abstractmethod
    async def save(self, handoff: Handoff) -> None:
        """Store the handoff and link its guest (and staff member, when taken) to it."""

    @abstractmethod
    async def by_ticket(self, ticket: str) -> Handoff | None: ...

    @abstractmethod
    async def of_guest(self, guest: str) -> Handoff | None: ...

    @abstractmethod
    async def of_staff(self, staff: str) -> Handoff | None: ...

    @abstractmethod
    async def close(self, handoff: Handoff) -> None: ...


class MemoryHandoffStore(HandoffStore):
    def __init__(self) -> None:
        self._tickets: dict[str, tuple[Handoff, float]] = {}
        self._links: dict[str, str] = {}

    async def save(self, handoff: Handoff) -> None:
        self._tickets[handoff.ticket] = (handoff, time.monotonic() + TTL_SECONDS)
        self._links[f"guest:{handoff.guest}"] = handoff.ticket
        if handoff.staff is not None:
            self._links[f"staff:{handoff.staff}"] = handoff.ticket

    async def by_ticket(self, ticket: str) -> Handoff | None:
        item = self._tickets.get(ticket)
        if item is None or item[1] <= time.monotonic():
            return None
        return item[0]

    async def of_guest(self, guest: str) -> Handoff | None:
        return await self._linked(f"guest:{guest}")

    async def of_staff(self, staff: str) -> Handoff | None:
        return await self._linked(f"staff:{staff}")

    async def close(self, handoff: Handoff) -> None:
        self._tickets.pop(handoff.ticket, None)
        for link in (f"guest:{handoff.guest}", f"staff:{handoff.staff}"):
            if self._links.get(link) == handoff.ticket:
                del self._links[link]

    async def _linked(self, link: str) -> Handoff | None:
        ticket = self._links.get(link)
        return await self.by_ticket(ticket) if ticket else None


class RedisHandoffStore(HandoffStore):
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def save(self, handoff: Handoff) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            document = json.dumps(asdict(handoff))
            pipe.set(key("ticket", handoff.ticket), document, ex=TTL_SECONDS)
            pipe.set(key("guest", handoff.guest), handoff.ticket, ex=TTL_SECONDS)
            if handoff.staff is not None:
                pipe.set(key("staff", handoff.staff), handoff.ticket, ex=TTL_SECONDS)
            await pipe.execute()

    async def by_ticket(self, ticket: str) -> Handoff | None:
        raw = await self._redis.get(key("ticket", ticket))
        return Handoff(**json.loads(raw)) if raw else None

    async def of_guest(self, guest: str) -> Handoff | None:
        return await self._linked(key("guest", guest))

    async def of_staff(self, staff: str) -> Handoff | None:
        return await self._linked(key("staff", staff))

    async def close(self, handoff: Handoff) -> None:
        links = [key("guest", handoff.guest)]
        if handoff.staff is not None:
            links.append(key("staff", handoff.staff))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key("ticket", handoff.ticket))
            for link in links:  # a guest and a staff member have one open handoff at most
                pipe.delete(link)
            await pipe.execute()

    async def _linked(self, link: str) -> Handoff | None:
        ticket = await self._redis.get(link)
        return await self.by_ticket(ticket.decode()) if isinstance(ticket, bytes) else None


def key(kind: Literal["guest", "ticket", "staff"], name: str) -> str:
    """The store's Redis keys: a guest conversation's request for a person and who took it over
    (``guest``, under the conversation's hash tag), a request by its short ticket id as staff
    buttons name it (``ticket``), and the guest conversation a staff member took over in one of
    their conversations (``staff``)."""
    return f"{PREFIX}:handoff:{{{name}}}" if kind == "guest" else f"{PREFIX}:handoff:{kind}:{name}"
