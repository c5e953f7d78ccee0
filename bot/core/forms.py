"""Forms: multi-turn slot filling that actions declare and the dispatcher drives.

A form asks for each missing slot in turn, validates the answer and re-asks on an error,
optionally confirms a summary, and then completes. "cancel" and "start over" work at every
step, and intents listed as interruptions (a question in the middle) are answered before the
form asks again. Slot values live in the session, so they must be JSON values.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeAlias, TypeVar, cast

from bot.core.context import Context, Outcomes, S
from bot.core.text import clean
from bot.core.types import Choice, Outcome

T = TypeVar("T")

CHOICE_PREFIX = "form:value:"

Maybe: TypeAlias = T | Awaitable[T]

SlotExtractor = Callable[[Context[S], bool], Maybe[Any | None]]
"""Reads a slot's value from this turn (``asked`` tells whether the form asked for it)."""
SlotValidator = Callable[[Context[S], Any, Mapping[str, Any]], Maybe[str | Outcome | None]]
"""Returns an error (a template key, or a whole outcome), or None when the value is acceptable."""
SlotChoices = Callable[[Context[S], Mapping[str, Any]], Sequence[Choice]]
SlotPrompt = Callable[[Context[S], Mapping[str, Any]], Awaitable[Outcome]]


@dataclass(frozen=True, slots=True)
class Slot(Generic[S]):
    """One answer a form needs.

    ``free_text`` slots take whatever the guest writes when asked, unless the same message
    filled another slot (a correction such as "actually the 21st" is not a name).
    Changing a slot clears the slots listed as depending on it. ``prompt`` builds the question
    when it needs data (offers and prices) instead of the fixed ``ask`` template."""

    name: str
    ask: str
    extract: SlotExtractor[S]
    validate: SlotValidator[S] | None = None
    choices: SlotChoices[S] | None = None
    prompt: SlotPrompt[S] | None = None
    free_text: bool = False
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Form(Generic[S]):
    name: str
    slots: tuple[Slot[S], ...]
    complete: Callable[[Context[S], dict[str, Any]], Awaitable[Outcomes]]
    confirm: str | SlotPrompt[S] | None = None
    """A summary template, or a callable building it, shown with confirm / start over."""
    interruptions: frozenset[str] = field(default_factory=frozenset)

    def slot(self, name: str) -> Slot[S]:
        return next(slot for slot in self.slots if slot.name == name)


def chosen_value(context: Context[Any]) -> str | None:
    """The value of a slot choice button pressed this turn."""
    payload = context.message.payload or ""
    return payload[len(CHOICE_PREFIX) :] if payload.startswith(CHOICE_PREFIX) else None


def value_choice(label: str, value: str, **values: Any) -> Choice:
    return Choice(label, payload=CHOICE_PREFIX + value, values=values)


async def resolved(value: Maybe[T]) -> T:
    """The value, awaited first when an extractor or validator is a coroutine."""
    if inspect.isawaitable(value):
        return cast(T, await value)
    return value


def text_answer(context: Context[Any], asked: bool) -> str | None:
    """Extractor for free-text slots: the text (or chosen value) of the message that answers,
    without control characters (a form's answer is stored, and staff read it)."""
    if not asked:
        return None
    return chosen_value(context) or clean(context.message.text or "").strip() or None
