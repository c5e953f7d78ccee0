"""The seam between the engine and whatever understands text (the trained model in `intents`);
a button's payload is read by ``bot.core.buttons`` instead."""

from __future__ import annotations

from typing import Protocol

from bot.core.buttons import parse_payload
from bot.core.context import Turn
from bot.core.pipeline import Next
from bot.core.types import Parse, TurnResult
from bot.steps.sessions import Session


class Understanding(Protocol):
    async def parse(self, text: str, locale: str, session: Session | None = None) -> Parse:
        """Intent, confidence, entities and the locale the text is written in.

        Entities may include ``control`` ("cancel" or "restart"), which forms obey.
        """


class Understand:
    """Pipeline step: parses the message; text without a locale hint may switch the locale."""

    def __init__(self, understanding: Understanding) -> None:
        self._understanding = understanding

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        message, session = turn.message, turn.session
        assert session is not None, "Understand runs after LoadSession"
        if message.payload is not None:
            turn.parse = parse_payload(message.payload, session.locale)
        else:
            text = message.text or ""
            turn.parse = await self._understanding.parse(text, session.locale, session)
            if message.locale_hint is None:
                session.locale = turn.parse.locale
            session.remember("guest", text, turn.parse.intent)
        return await call_next(turn)
