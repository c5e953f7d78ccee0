"""Open handoffs: a guest conversation's request by ticket, and the staff member who took it.

A ticket is short (it travels in button payloads). Three lookups are kept: ticket → request,
guest conversation → ticket, and staff conversation+user → ticket, each for ``TTL_SECONDS``
after the last change, so a forgotten handoff ends by itself. Every guest turn looks for its
conversation's handoff: the guest's link is a key of the conversation (``guest_handoff_key``),
read with the turn (``bot.steps.ordering``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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
        """Store the handoff and link its staff member (when taken), then its guest, to it.

        The guest's link lives in the conversation's slot, the rest in the ``{handoff}`` slot:
        two writes, the link last, so a link never names a ticket that is not there yet."""
        documents = {key("ticket", handoff.ticket): json.dumps(asdict(handoff))}
        if handoff.staff is not None:
            documents[key("staff", handoff.staff)] = handoff.ticket
        await self._values.put_all(documents, TTL_SECONDS)
        await self._values.put(guest_handoff_key(handoff.guest), handoff.ticket, TTL_SECONDS)

    async def by_ticket(self, ticket: str) -> Handoff | None:
        document = await self._get("ticket", ticket)
        return Handoff(**json.loads(document)) if document else None

    async def of_guest(
        self, guest: str, read: Mapping[str, str | None] | None = None
    ) -> Handoff | None:
        """The guest conversation's handoff; its link is taken from ``read`` (the keys read with
        the conversation's turn) when it is there."""
        link = guest_handoff_key(guest)
        ticket = read[link] if read is not None and link in read else await self._values.get(link)
        return await self.by_ticket(ticket) if ticket else None

    async def of_guests(self, guests: Sequence[str]) -> dict[str, Handoff]:
        """The open handoffs of these guest conversations, in two round trips (the console's
        list)."""
        tickets = await self._values.get_all([guest_handoff_key(guest) for guest in guests])
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
        # A guest and a staff member have one open handoff at most: their links go with it, the
        # guest's first, so the guest is back with the bot whatever happens to the rest.
        await self._values.delete(guest_handoff_key(handoff.guest))
        names: list[tuple[Kind, str]] = [("ticket", handoff.ticket)]
        if handoff.staff is not None:
            names.append(("staff", handoff.staff))
        await self._values.delete(*(key(kind, name) for kind, name in names))

    async def _linked(self, kind: Kind, name: str) -> Handoff | None:
        ticket = await self._get(kind, name)
        return await self.by_ticket(ticket) if ticket else None

    async def _get(self, kind: Kind, name: str) -> str | None:
        return await self._values.get(key(kind, name))


Kind = Literal["ticket", "staff"]


def key(kind: Kind, name: str) -> str:
    """The store's Redis keys: a request by its short ticket id as staff buttons name it
    (``ticket``), and the guest conversation a staff member took over in one of their
    conversations (``staff``).

    Both share the ``{handoff}`` hash tag: ``save`` writes them together, which a Redis Cluster
    does only within one slot (handoffs are few, one slot holds them all)."""
    return f"{PREFIX}:handoff:{{handoff}}:{kind}:{name}"


def guest_handoff_key(guest: str) -> str:
    """A guest conversation's link to its open handoff (its ticket), under the conversation's
    hash tag (``bot.stores.keys``) so that it is read with the conversation's turn."""
    return f"{PREFIX}:handoff:{{{guest}}}:guest"
