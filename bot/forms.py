"""Forms: multi-turn slot filling that actions declare and the dispatcher drives.

A form asks for each missing slot in turn, validates the answer and re-asks on an error,
optionally confirms a summary, and then completes. "cancel" and "start over" work at every
step, and intents listed as interruptions (a question in the middle) are answered before the
form asks again. Slot values live in the session, so they must be JSON values.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic

from bot.context import Context, Outcomes, S
from bot.types import Choice

CHOICE_PREFIX = "form:value:"

SlotExtractor = Callable[[Context[S], bool], Any | None]
"""Reads a slot's value from this turn (``asked`` tells whether the form asked for it)."""
SlotValidator = Callable[[Any, Mapping[str, Any]], str | None]
"""Returns the template key of an error, or None when the value is acceptable."""
SlotChoices = Callable[[Context[S], Mapping[str, Any]], Sequence[Choice]]


@dataclass(frozen=True, slots=True)
class Slot(Generic[S]):
    name: str
    ask: str
    extract: SlotExtractor[S]
    validate: SlotValidator | None = None
    choices: SlotChoices[S] | None = None


@dataclass(frozen=True, slots=True)
class Form(Generic[S]):
    name: str
    slots: tuple[Slot[S], ...]
    complete: Callable[[Context[S], dict[str, Any]], Awaitable[Outcomes]]
    confirm: str | None = None
    interruptions: frozenset[str] = field(default_factory=frozenset)

    def slot(self, name: str) -> Slot[S]:
        return next(slot for slot in self.slots if slot.name == name)


def chosen_value(context: Context[Any]) -> str | None:
    """The value of a slot choice button pressed this turn."""
    payload = context.message.payload or ""
    return payload[len(CHOICE_PREFIX) :] if payload.startswith(CHOICE_PREFIX) else None


def value_choice(label: str, value: str, **values: Any) -> Choice:
    return Choice(label, payload=CHOICE_PREFIX + value, values=values)


def text_answer(context: Context[Any], asked: bool) -> str | None:
    """Extractor for free-text slots: the text (or chosen value) of the message that answers."""
    if not asked:
        return None
    return chosen_value(context) or (context.message.text or "").strip() or None


def entity(name: str) -> SlotExtractor[Any]:
    """Extractor for slots filled by an entity of the understanding step."""

    def extract(context: Context[Any], asked: bool) -> Any | None:
        return context.parse.entities.get(name)

    return extract
