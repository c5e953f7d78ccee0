"""The typed context an action receives, and the per-turn state the pipeline builds up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar

from bot.core.types import Message, Outcome, Parse

if TYPE_CHECKING:
    from bot.steps.sessions import Session

S = TypeVar("S")


@dataclass(slots=True)
class Turn:
    """One message on its way through the pipeline; each step fills in what it is for."""

    message: Message
    received_at: datetime
    """When the engine took the message, by the bot's clock."""
    session: Session | None = None
    parse: Parse | None = None
    read: Mapping[str, str | None] = field(default_factory=dict)
    """Keys of the conversation read as its turn was taken, with their values (``Order``)."""

    @property
    def conversation_key(self) -> str:
        return f"{self.message.channel}:{self.message.conversation_id}"


@dataclass(frozen=True, slots=True)
class Context(Generic[S]):
    message: Message
    received_at: datetime
    parse: Parse
    session: Session
    services: S

    @property
    def locale(self) -> str:
        return self.session.locale

    @property
    def record_id(self) -> int:
        """The ``id`` a button names (a refund, an alert) as a number; 0 when there is none."""
        raw = str(self.parse.entities.get("id", ""))
        return int(raw) if raw.isdigit() and len(raw) <= 12 else 0

    @property
    def staff_actor(self) -> str:
        """Who decided, kept with the decision: the staff member's identity on their channel."""
        return f"staff:{self.message.channel}:{self.message.user_id}"[:80]


Outcomes = Outcome | Sequence[Outcome]
Handler = Callable[[Context[S]], Awaitable[Outcomes]]


def as_list(outcomes: Outcomes) -> list[Outcome]:
    return [outcomes] if isinstance(outcomes, Outcome) else list(outcomes)
