"""The guest conversations as the staff console shows them, and taking one over from there.

Each conversation comes from the transcripts (channel, language, last line) and its state from
the handoff store that chat staff use too, so the console and Slack or Discord always agree:
``bot`` (nobody asked), ``waiting`` (the guest asked for a person) or ``taken`` (by whom). A
console account takes a conversation over, writes to the guest (who receives it on their own
channel through the notifier) and hands it back through the same desk as chat staff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from actions.handoff.desk import (
    HandoffDesk,
    NotHeld,
    TakenByAnother,
    Unreachable,
    console_staff_key,
)
from actions.handoff.store import REQUESTED, TAKEN, Handoff, HandoffStore
from actions.handoff.transcripts import Conversation, Line, Transcripts
from bot.core.observability import pseudonym

State = Literal["bot", "waiting", "taken"]
PAGE_SIZE = 25
LINES_SHOWN = 200
"""A transcript page shows the newest lines, this many."""
MAX_PAGE = 10_000


class UnknownConversation(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class ConsoleStaff:
    """A signed-in console account, as the board needs it."""

    account_id: int
    email: str


@dataclass(frozen=True, slots=True)
class ConversationView:
    id: int
    channel: str
    locale: str
    guest: str
    """A short stand-in for the guest (``pseudonym``), never their chat id."""
    last_at: datetime
    last_role: str
    last_text: str | None
    lines: int
    state: State
    taken_by: str | None
    urgent: bool
    held_by_me: bool


@dataclass(frozen=True, slots=True)
class BoardPage:
    conversations: tuple[ConversationView, ...]
    number: int
    older: bool
    """Whether a page of older conversations follows."""


@dataclass(frozen=True, slots=True)
class TranscriptView:
    conversation: ConversationView
    lines: tuple[Line, ...]


class ConversationBoard:
    def __init__(
        self,
        transcripts: Transcripts,
        handoffs: HandoffStore,
        desk: HandoffDesk,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._transcripts = transcripts
        self._handoffs = handoffs
        self._desk = desk
        self._page_size = page_size

    async def page(self, number: int, viewer: ConsoleStaff) -> BoardPage:
        """Page ``number`` (1 to ``MAX_PAGE``), the latest conversation first."""
        number = min(max(number, 1), MAX_PAGE)
        found, older = await self._transcripts.page(number, self._page_size)
        open_ = await self._handoffs.of_guests([conversation.key for conversation in found])
        views = tuple(_view(c, open_.get(c.key), viewer) for c in found)
        return BoardPage(views, number, older)

    async def transcript(self, conversation: int, viewer: ConsoleStaff) -> TranscriptView:
        found = await self._conversation(conversation)
        handoff = await self._handoffs.of_guest(found.key)
        lines = await self._transcripts.lines(found.id, LINES_SHOWN)
        return TranscriptView(_view(found, handoff, viewer), tuple(lines))

    async def take(self, conversation: int, who: ConsoleStaff) -> None:
        """Raises ``UnknownConversation``, ``TakenByAnother`` or ``Unreachable``."""
        found = await self._conversation(conversation)
        staff = console_staff_key(who.account_id, found.id)
        await self._desk.take_for(found.key, found.locale, staff, who.email)

    async def say(self, conversation: int, who: ConsoleStaff, text: str) -> None:
        """Raises ``UnknownConversation`` or ``NotHeld``."""
        found = await self._conversation(conversation)
        staff = console_staff_key(who.account_id, found.id)
        await self._desk.say_for(found.key, staff, who.email, text)

    async def hand_back(self, conversation: int, who: ConsoleStaff) -> None:
        """Raises ``UnknownConversation`` or ``NotHeld``."""
        found = await self._conversation(conversation)
        await self._desk.give_back_for(found.key, console_staff_key(who.account_id, found.id))

    async def _conversation(self, conversation: int) -> Conversation:
        found = await self._transcripts.conversation(conversation)
        if found is None:
            raise UnknownConversation(conversation)
        return found


def _view(
    conversation: Conversation, handoff: Handoff | None, viewer: ConsoleStaff
) -> ConversationView:
    state: State = "bot"
    if handoff is not None:
        state = "taken" if handoff.status == TAKEN else "waiting"
    mine = console_staff_key(viewer.account_id, conversation.id)
    return ConversationView(
        conversation.id,
        conversation.channel,
        conversation.locale,
        short_guest(conversation.key),
        conversation.last_at,
        conversation.last_role,
        conversation.last_text,
        conversation.lines,
        state,
        handoff.staff_name if handoff is not None and handoff.status == TAKEN else None,
        handoff is not None and handoff.urgent,
        handoff is not None and handoff.staff == mine,
    )


def short_guest(conversation_key: str, stand_in: Callable[[str], str] = pseudonym) -> str:
    """The guest as the console names them: the start of the logs' pseudonym."""
    return stand_in(conversation_key)[:8]


__all__ = [
    "REQUESTED",
    "BoardPage",
    "ConsoleStaff",
    "ConversationBoard",
    "NotHeld",
    "TakenByAnother",
    "UnknownConversation",
    "Unreachable",
]
