"""Button payloads, which need no understanding: their parser and, beside it, their builder."""

from __future__ import annotations

import re

from bot.core.types import Parse

INTENT_PAYLOAD = "intent:"
UNKNOWN_BUTTON = "unknown_button"
BUTTON = "button"
MAX_PAYLOAD_ENTITIES = 4
MAX_PAYLOAD_CHARS = 256
"""The web and REST edges refuse a longer payload, so a built one must fit it to be pressable."""


_KEY, _VALUE = r"[a-z_]{1,32}", r"[\w.-]{1,64}"
_PAYLOAD_ENTITY = re.compile(rf"^({_KEY})=({_VALUE})$")


def button_payload(intent: str, /, **entities: str | int) -> str:
    """``intent:NAME|key=value…`` as ``parse_payload`` reads it back, for a button.

    Raises ``ValueError`` on what the parser would refuse or misread (a name or value with
    other characters, too many entities, longer than the edges take): a payload built in the
    code is a mistake in the code, never an ``unknown_button`` a guest runs into.
    """
    # The parser takes any name (an unknown intent is answered as such), but a built one is
    # spelled like a key: a name holding ``|`` would not read back as itself.
    if not re.fullmatch(_KEY, intent):
        raise ValueError(f"intent name {intent!r} is not {_KEY}")
    if len(entities) > MAX_PAYLOAD_ENTITIES:
        raise ValueError(f"{len(entities)} entities; a payload holds {MAX_PAYLOAD_ENTITIES}")
    pairs = [INTENT_PAYLOAD + intent]
    for key, raw in entities.items():
        value = str(raw)
        if not (re.fullmatch(_KEY, key) and re.fullmatch(_VALUE, value)):
            raise ValueError(f"entity {key}={value!r} is not {_KEY}={_VALUE}")
        pairs.append(f"{key}={value}")
    payload = "|".join(pairs)
    if len(payload) > MAX_PAYLOAD_CHARS:
        raise ValueError(f"payload of {len(payload)} characters; at most {MAX_PAYLOAD_CHARS}")
    return payload


def parse_payload(payload: str, locale: str) -> Parse:
    """A button press: ``intent:NAME`` asks for an intent, optionally with entities
    (``intent:faq|topic=wifi``); ``form:...`` answers a form; anything else is unknown."""
    if payload.startswith(INTENT_PAYLOAD):
        name, *pairs = payload[len(INTENT_PAYLOAD) :].split("|")
        matches = [_PAYLOAD_ENTITY.match(pair) for pair in pairs]
        if all(matches) and len(matches) <= MAX_PAYLOAD_ENTITIES:
            entities = {match.group(1): match.group(2) for match in matches if match}
            return Parse(name, 1.0, entities, locale)
        return Parse(UNKNOWN_BUTTON, 1.0, {}, locale)
    if payload.startswith("form:"):
        return Parse(BUTTON, 1.0, {}, locale)
    return Parse(UNKNOWN_BUTTON, 1.0, {}, locale)
