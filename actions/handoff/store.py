"""Open handoffs: a guest conversation's request by ticket, and the staff member who took it.

A ticket is short (it travels in button payloads). Three lookups are kept: ticket → request,
guest conversation → ticket, and staff conversation+user → ticket, each for ``TTL_SECONDS``
after the last change, so a forgotten handoff ends by itself.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from bot.keys import PREFIX
from bot.stores.base import ValueStore

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
            ticket_key(handoff.ticket): json.dumps(asdict(handoff)),
            guest_key(handoff.guest): handoff.ticket,
        }
        if handoff.staff is not None:
            documents[staff_key(handoff.staff)] = handoff.ticket
        await self._values.put_all(documents, TTL_SECONDS)

    async def by_ticket(self, ticket: str) -> Handoff | None:
        document = await self._values.get(ticket_key(ticket))
        return Handoff(**json.loads(document)) if document else None

    async def of_guest(self, guest: str) -> Handoff | None:
        return await self._linked(guest_key(guest))

    async def of_staff(self, staff: str) -> Handoff | None:
        return await self._linked(staff_key(staff))

    async def close(self, handoff: Handoff) -> None:
        # A guest and a staff member have one open handoff at most: their links go with it.
        links = [guest_key(handoff.guest)]
        if handoff.staff is not None:
            links.append(staff_key(handoff.staff))
        await self._values.delete(ticket_key(handoff.ticket), *links)

    async def _linked(self, link: str) -> Handoff | None:
        ticket = await self._values.get(link)
        return await self.by_ticket(ticket) if ticket else None


def guest_key(conversation_key: str) -> str:
    """A guest conversation's request for a person, and who took it over."""
    return f"{PREFIX}:handoff:{{{conversation_key}}}"


def ticket_key(ticket: str) -> str:
    """A handoff request by its short ticket id, as staff buttons name it."""
    return f"{PREFIX}:handoff:ticket:{ticket}"


def staff_key(staff: str) -> str:
    """The guest conversation a staff member took over in one of their conversations."""
    return f"{PREFIX}:handoff:staff:{staff}"
