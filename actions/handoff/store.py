"""Open handoffs: a guest conversation's request by ticket, and the staff member who took it.

A ticket is short (it travels in button payloads). Three lookups are kept: ticket → request,
guest conversation → ticket, and staff conversation+user → ticket, each for ``TTL_SECONDS``
after the last change, so a forgotten handoff ends by itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from bot.stores.base import ValueStore
from bot.stores.keys import PREFIX

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
    urgent: bool = False
    """Opened from the bot's own offer to a frustrated or misunderstood guest."""
    staff_name: str | None = None
    """Who took it, as the team knows them: a console account's e-mail or a chat identity
    (``slack:U012AB``)."""


class HandoffStore:
    def __init__(self, values: ValueStore) -> None:
        self._values = values

    async def save(self, handoff: Handoff) -> None:
        """Store the handoff and link its guest (and staff member, when taken) to it."""
        documents = {
            key("ticket", handoff.ticket): json.dumps(asdict(handoff)),
            key("guest", handoff.guest): handoff.ticket,
        }
        if handoff.staff is not None:
            documents[key("staff", handoff.staff)] = handoff.ticket
        await self._values.put_all(documents, TTL_SECONDS)

    async def by_ticket(self, ticket: str) -> Handoff | None:
        document = await self._get("ticket", ticket)
        return Handoff(**json.loads(document)) if document else None

    async def of_guest(self, guest: str) -> Handoff | None:
        return await self._linked("guest", guest)

    async def of_guests(self, guests: Sequence[str]) -> dict[str, Handoff]:
        """The open handoffs of these guest conversations, in two round trips (the console's
        list)."""
        tickets = await self._values.get_all([key("guest", guest) for guest in guests])
        linked = [(guest, ticket) for guest, ticket in zip(guests, tickets, strict=True) if ticket]
        documents = await self._values.get_all([key("ticket", ticket) for _, ticket in linked])
        return {
            guest: Handoff(**json.loads(document))
            for (guest, _), document in zip(linked, documents, strict=True)
            if document
        }

    async def of_staff(self, staff: str) -> Handoff | None:
        return await self._linked("staff", staff)

    async def close(self, handoff: Handoff) -> None:
        # A guest and a staff member have one open handoff at most: their links go with it.
        names: list[tuple[Kind, str]] = [("ticket", handoff.ticket), ("guest", handoff.guest)]
        if handoff.staff is not None:
            names.append(("staff", handoff.staff))
        await self._values.delete(*(key(kind, name) for kind, name in names))

    async def _linked(self, kind: Kind, name: str) -> Handoff | None:
        ticket = await self._get(kind, name)
        return await self.by_ticket(ticket) if ticket else None

    async def _get(self, kind: Kind, name: str) -> str | None:
        return await self._values.get(key(kind, name))


Kind = Literal["guest", "ticket", "staff"]


def key(kind: Kind, name: str) -> str:
    """The store's Redis keys: a guest conversation's request for a person and who took it over
    (``guest``), a request by its short ticket id as staff buttons name it (``ticket``), and the
    guest conversation a staff member took over in one of their conversations (``staff``).

    All share the ``{handoff}`` hash tag: ``save`` writes them together, which a Redis Cluster
    does only within one slot (handoffs are few, one slot holds them all)."""
    return f"{PREFIX}:handoff:{{handoff}}:{kind}:{name}"
