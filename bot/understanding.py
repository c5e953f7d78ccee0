"""The seam between the engine and whatever understands text (the trained model in `intents`),
and the parser of button payloads, which need no understanding."""

from __future__ import annotations

import re
from typing import Protocol

from bot.context import Turn
from bot.pipeline import Next
from bot.sessions import Session
from bot.types import Parse, TurnResult

INTENT_PAYLOAD = "intent:"
UNKNOWN_BUTTON = "unknown_button"
BUTTON = "button"


class Understanding(Protocol):
    async def parse(self, text: str, locale: str, session: Session | None = None) -> Parse:
        """Intent, confidence, entities and the locale the text is written in.

        Entities may include ``control`` ("cancel" or "restart"), which forms obey.
        """


_PAYLOAD_ENTITY = re.compile(r"^([a-z_]{1,32})=([\w.-]{1,64})$")


def parse_payload(payload: str, locale: str) -> Parse:
    """A button press: ``intent:NAME`` asks for an intent, optionally with entities
    (``intent:faq|topic=wifi``); ``form:...`` answers a form; anything else is unknown."""
    if payload.startswith(INTENT_PAYLOAD):
        name, *pairs = payload[len(INTENT_PAYLOAD) :].split("|")
        matches = [_PAYLOAD_ENTITY.match(pair) for pair in pairs]
        if all(matches) and len(matches) <= 4:
            entities = {match.group(1): match.group(2) for match in matches if match}
            return Parse(name, 1.0, entities, locale)
        return Parse(UNKNOWN_BUTTON, 1.0, {}, locale)
    if payload.startswith("form:"):
        return Parse(BUTTON, 1.0, {}, locale)
    return Parse(UNKNOWN_BUTTON, 1.0, {}, locale)


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
