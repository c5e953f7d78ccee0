"""Open handoffs: a guest conversation's request by ticket, and the staff member who took it.

A ticket is short (it travels in button payloads). Three lookups are kept: ticket → request,
guest conversation → ticket, and staff conversation+user → ticket, each for ``TTL_SECONDS``
after the last change, so a forgotten handoff ends by itself.
"""

from __future__ import annotations

import json
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
        document = await self._values.get(key("ticket", ticket))
        return Handoff(**json.loads(document)) if document else None

    async def of_guest(self, guest: str) -> Handoff | None:
        return await self._linked(key("guest", guest))

    async def of_staff(self, staff: str) -> Handoff | None:
        return await self._linked(key("staff", staff))

    async def close(self, handoff: Handoff) -> None:
        # A guest and a staff member have one open handoff at most: their links go with it.
        links = [key("guest", handoff.guest)]
        if handoff.staff is not None:
            links.append(key("staff", handoff.staff))
        await self._values.delete(key("ticket", handoff.ticket), *links)

    async def _linked(self, link: str) -> Handoff | None:
        ticket = await self._values.get(link)
        return await self.by_ticket(ticket) if ticket else None


def key(kind: Literal["guest", "ticket", "staff"], name: str) -> str:
    """The store's Redis keys: a guest conversation's request for a person and who took it over
    (``guest``, under the conversation's hash tag), a request by its short ticket id as staff
    buttons name it (``ticket``), and the guest conversation a staff member took over in one of
    their conversations (``staff``)."""
    return f"{PREFIX}:handoff:{{{name}}}" if kind == "guest" else f"{PREFIX}:handoff:{kind}:{name}"
