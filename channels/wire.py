"""What the web widget and REST adapters share: validating input and shaping replies as JSON."""

from __future__ import annotations

from typing import Any

from bot.core.render import Renderer
from bot.core.text import is_scalar_text
from bot.core.types import Outcome, Reply

MAX_ID_CHARS = 128


class InvalidInput(Exception):
    """Input the adapter refuses; ``code`` names an ``prompts/errors/`` template."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def checked_text(value: Any, max_chars: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput("invalid_request")
    if not is_scalar_text(value):
        raise InvalidInput("invalid_text")
    text = value.strip()
    if not text:
        raise InvalidInput("empty_message")
    if len(text) > max_chars:
        raise InvalidInput("message_too_long")
    return text


def checked_optional(value: Any, max_chars: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > max_chars:
        raise InvalidInput("invalid_request")
    if not is_scalar_text(value):
        raise InvalidInput("invalid_text")
    return value


def reply_json(reply: Reply) -> dict[str, Any]:
    buttons = [
        {"title": button.title, "url": button.url}
        if button.url
        else {"title": button.title, "payload": button.payload}
        for button in reply.buttons
    ]
    document: dict[str, Any] = {"text": reply.text, "buttons": buttons}
    if reply.image is not None:
        document["image"] = {"url": reply.image.url, "alt": reply.image.alt}
    return document


def error_json(renderer: Renderer, code: str, locale_hint: str | None) -> dict[str, Any]:
    locale = renderer.locale_for(locale_hint)
    message = renderer.render(Outcome(f"errors/{code}"), locale, "plain").text
    return {"code": code, "message": message}
