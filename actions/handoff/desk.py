"""The handoff between a guest and the hotel's team, whatever channel each is on.

A guest asks for a person: a ticket is opened and the team's channel (``RSV_HANDOFF_ADDRESS``)
is told, in the team's locale, with the guest's channel, language and last messages, and a
"Take over" button. The staff member who presses it is linked to the guest: from then on what
they write in that conversation goes to the guest through the guest's own channel, and what
the guest writes goes to them instead of being answered by the bot, until "Return to bot".

The staff console takes conversations over through the same tickets (``take_for``, ``say_for``,
``give_back_for``), asked for or not: whoever takes a conversation first holds it, in chat or
in the console. A console account reads the guest from the transcript, so nothing is relayed
to it; what any team member sends the guest joins the transcript.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

import structlog

from actions.handoff.store import REQUESTED, TAKEN, Handoff, HandoffStore
from actions.handoff.transcripts import Said, Transcripts
from bot.core.buttons import button_payload
from bot.core.context import Turn
from bot.core.observability import pseudonym
from bot.core.pipeline import Next
from bot.core.text import clean
from bot.core.types import STAFF, Address, Choice, Message, Outcome, TurnResult
from bot.outbound.proactive import Notifier

log = structlog.get_logger("rsv360.handoff")

HISTORY_SHOWN = 6
CONSOLE = "console"


class TakenByAnother(Exception):
    """Someone else of the team holds the conversation (``args[0]``: their name, if known)."""


class Unreachable(Exception):
    """The guest's channel takes no message the team starts (REST, the terminal)."""


class NotHeld(Exception):
    """The conversation is not held by the one who asked (``args[0]``: who holds it)."""


def staff_key(message: Message) -> str:
    return f"{message.channel}:{message.conversation_id}:{message.user_id}"


def console_staff_key(account_id: int, conversation: int) -> str:
    """A console account holding one conversation: one key per conversation, so that an
    account may hold several (a chat staff member holds one per chat)."""
    return f"{CONSOLE}:{account_id}:{conversation}"


def in_console(staff: str) -> bool:
    return staff.startswith(f"{CONSOLE}:")


def _address(key: str) -> Address:
    channel, conversation, *_ = key.split(":")
    return Address(channel, conversation)


class HandoffDesk:
    def __init__(
        self,
        store: HandoffStore,
        notifier: Notifier,
        team: Address | None,
        team_locale: str,
        transcripts: Transcripts,
    ) -> None:
        self._store = store
        self._transcripts = transcripts
        self._notifier = notifier
        self._team = team
        self._team_locale = team_locale

    async def request(
        self,
        message: Message,
        locale: str,
        history: list[dict[str, Any]],
        *,
        urgent: bool = False,
    ) -> Handoff | None:
        """Open a ticket and tell the team; None when the guest already has one open.
        ``urgent``: the guest was frustrated or misunderstood, and the team is told so."""
        guest = f"{message.channel}:{message.conversation_id}"
        if await self._store.of_guest(guest) is not None:
            return None
        handoff = Handoff(secrets.token_urlsafe(9), guest, locale, urgent=urgent)
        await self._store.save(handoff)
        if self._team is not None:
            shown = [entry for entry in history if entry.get("text")][-HISTORY_SHOWN:]
            take = Choice(
                "handoff_take", payload=button_payload("handoff_take", ticket=handoff.ticket)
            )
            values = {
                "channel": message.channel,
                "locale": locale,
                "history": shown,
                "urgent": urgent,
            }
            request = Outcome("handoff/staff_request", values, (take,))
            await self._notifier.notify(self._team, self._team_locale, [request])
        log.info(
            "handoff_requested",
            guest=pseudonym(guest),
            team=self._team is not None,
            urgent=urgent,
        )
        return handoff

    async def take(self, message: Message, ticket: str) -> Outcome:
        handoff = await self._store.by_ticket(ticket)
        if handoff is None:
            return Outcome("handoff/unknown_ticket")
        me = staff_key(message)
        if handoff.status == TAKEN and handoff.staff != me:
            return Outcome("handoff/already_taken")
        earlier = await self._store.of_staff(me)
        if earlier is not None and earlier.ticket != ticket:
            return Outcome("handoff/finish_first", {}, (_release(earlier.ticket),))
        await self._hand_over(handoff, me, f"{message.channel}:{message.user_id}")
        channel = handoff.guest.split(":", 1)[0]
        values = {"channel": channel, "locale": handoff.locale}
        return Outcome("handoff/you_took", values, (_release(ticket),))

    async def release(self, message: Message, ticket: str) -> Outcome:
        handoff = await self._store.by_ticket(ticket)
        if handoff is None:
            return Outcome("handoff/unknown_ticket")
        if handoff.status == TAKEN and handoff.staff != staff_key(message):
            return Outcome("handoff/already_taken")
        await self._give_back(handoff)
        return Outcome("handoff/released")

    async def take_for(self, guest: str, locale: str, staff: str, name: str) -> None:
        """A person of the team takes the guest's conversation over from the console, asked
        for or not. Raises ``TakenByAnother`` when someone else holds it, ``Unreachable`` when
        nothing the team writes could reach the guest."""
        if not self._notifier.reaches(_address(guest).channel):
            raise Unreachable(guest)
        handoff = await self._store.of_guest(guest)
        if handoff is None:
            handoff = Handoff(secrets.token_urlsafe(9), guest, locale)
        elif handoff.status == TAKEN and handoff.staff != staff:
            raise TakenByAnother(handoff.staff_name)
        await self._hand_over(handoff, staff, name)

    async def say_for(self, guest: str, staff: str, name: str, text: str) -> None:
        """What the team member holding the conversation in the console writes to the guest.
        Raises ``NotHeld`` unless ``staff`` holds it."""
        handoff = await self._held(guest, staff)
        says = Outcome("handoff/staff_says", {"text": clean(text)})
        await self._notifier.notify(_address(handoff.guest), handoff.locale, [says])
        await self._transcribe(handoff.guest, Said("staff", clean(text), name))
        log.info("handoff_relayed", to="guest", guest=pseudonym(handoff.guest))

    async def give_back_for(self, guest: str, staff: str) -> None:
        """The conversation back to the bot, from the console. Raises ``NotHeld`` unless
        ``staff`` holds it."""
        await self._give_back(await self._held(guest, staff))

    async def _held(self, guest: str, staff: str) -> Handoff:
        handoff = await self._store.of_guest(guest)
        if handoff is None or handoff.status != TAKEN or handoff.staff != staff:
            raise NotHeld(None if handoff is None else handoff.staff_name)
        return handoff

    async def _hand_over(self, handoff: Handoff, staff: str, name: str) -> None:
        await self._store.save(replace(handoff, status=TAKEN, staff=staff, staff_name=name))
        await self._notifier.notify(
            _address(handoff.guest), handoff.locale, [Outcome("handoff/taken")]
        )
        log.info("handoff_taken", guest=pseudonym(handoff.guest), staff=pseudonym(staff))

    async def _give_back(self, handoff: Handoff) -> None:
        await self._store.close(handoff)
        returned = Outcome("handoff/returned")
        await self._notifier.notify(_address(handoff.guest), handoff.locale, [returned])
        log.info("handoff_released", guest=pseudonym(handoff.guest))

    async def _transcribe(self, guest: str, said: Said) -> None:
        channel, conversation = guest.split(":", 1)
        try:
            await self._transcripts.record(channel, conversation, [said])
        except Exception:
            log.exception("transcript_not_recorded", channel=channel)

    async def relay(self, turn: Turn) -> bool:
        """Pass a taken-over conversation's text to the other side; True when it was."""
        message = turn.message
        if message.text is None:
            return False  # buttons (return to bot, take over) go to their actions
        if message.role in STAFF:
            handoff = await self._store.of_staff(staff_key(message))
            if handoff is not None and handoff.status == TAKEN:
                says = Outcome("handoff/staff_says", {"text": clean(message.text)})
                await self._notifier.notify(_address(handoff.guest), handoff.locale, [says])
                author = f"{message.channel}:{message.user_id}"
                await self._transcribe(handoff.guest, Said("staff", clean(message.text), author))
                log.info("handoff_relayed", to="guest", guest=pseudonym(handoff.guest))
                return True
        handoff = await self._store.of_guest(turn.conversation_key, turn.read)
        if handoff is None or handoff.status != TAKEN or handoff.staff is None:
            return False
        if not in_console(handoff.staff):  # the console reads it from the transcript
            says = Outcome("handoff/guest_says", {"text": clean(message.text)})
            await self._notifier.notify(_address(handoff.staff), self._team_locale, [says])
        log.info("handoff_relayed", to="staff", guest=pseudonym(handoff.guest))
        return True


class Relay:
    """Pipeline step (after the session is loaded): while a person has taken a conversation
    over, messages go between guest and staff member instead of to the bot."""

    def __init__(self, desk: HandoffDesk) -> None:
        self._desk = desk

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        if await self._desk.relay(turn):
            if turn.session is not None and turn.message.text is not None:
                turn.session.remember(turn.message.role, turn.message.text)
            return TurnResult("handled")
        return await call_next(turn)


def _release(ticket: str) -> Choice:
    return Choice("handoff_release", payload=button_payload("handoff_release", ticket=ticket))


__all__ = [
    "REQUESTED",
    "HandoffDesk",
    "NotHeld",
    "Relay",
    "TakenByAnother",
    "Unreachable",
    "staff_key",
]
