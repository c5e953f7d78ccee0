"""Pipeline step: the text of every channel's message in one form before anything reads it.

Ids are made encodable the same way (Redis keys are built from them). The web and REST edges
refuse text that is not Unicode scalar values; provider SDKs hand over
whatever the provider's JSON carried, so here a lone surrogate becomes U+FFFD (sessions, logs
and the database can then always encode it), the text is NFC (one spelling of "é" for the
NLU, the forms and the staff) and invisible format characters are gone. Control characters
stay: a form that stores text refuses them with a message the guest understands.
"""

from __future__ import annotations

from dataclasses import replace

from bot.core.context import Turn
from bot.core.pipeline import Next
from bot.core.text import scalar, visible
from bot.core.types import TurnResult


class NormaliseText:
    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        message = turn.message
        turn.message = replace(
            message,
            conversation_id=scalar(message.conversation_id),
            user_id=scalar(message.user_id),
            text=None if message.text is None else visible(scalar(message.text)),
            payload=_optional(message.payload),
            locale_hint=_optional(message.locale_hint),
            update_id=_optional(message.update_id),
        )
        return await call_next(turn)


def _optional(value: str | None) -> str | None:
    return None if value is None else scalar(value)
