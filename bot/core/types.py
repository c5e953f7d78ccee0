"""Channel-neutral types that every part of the bot builds on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

Role = Literal["guest", "staff", "admin"]
"""Who is writing: channels resolve it from configuration (``bot.core.roles``); guests by
default."""
STAFF: frozenset[Role] = frozenset({"staff", "admin"})


@dataclass(frozen=True, slots=True)
class Address:
    """Where a reply goes: a conversation on one channel."""

    channel: str
    conversation_id: str

    @classmethod
    def parse(cls, written: str | None) -> Address | None:
        """``channel:conversation`` as settings write it; None when unset."""
        if not written:
            return None
        channel, _, conversation = written.partition(":")
        return cls(channel, conversation)


@dataclass(frozen=True, slots=True)
class Message:
    """One inbound update, as every channel adapter hands it to the engine."""

    channel: str
    conversation_id: str
    user_id: str
    text: str | None = None
    payload: str | None = None
    locale_hint: str | None = None
    update_id: str | None = None
    role: Role = "guest"

    @property
    def address(self) -> Address:
        return Address(self.channel, self.conversation_id)


@dataclass(frozen=True, slots=True)
class Button:
    """A quick-reply button (payload) or a link button (url)."""

    title: str
    payload: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Image:
    """A picture by public URL; ``media_key`` names its bytes in the media store, for channels
    that upload pictures rather than link them."""

    url: str
    alt: str = ""
    media_key: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """Where a reply came from: its template key, values and locale. A channel that may not
    send free text to a conversation (WhatsApp, a day after the guest's last message) sends its
    own approved template for that key instead, filled from these values."""

    template: str
    values: Mapping[str, Any]
    locale: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    image: Image | None = None
    copy_text: str | None = None
    """A code the reader copies whole (a Pix copy-and-paste code), already part of ``text``;
    channels that can send it as a message of its own, so that one tap copies it."""
    notice: Notice | None = field(default=None, compare=False)


def reply_document(reply: Reply) -> dict[str, Any]:
    """The reply as JSON-ready data, for replies that wait in a store or a queue; a notice's
    dates, datetimes and decimals are tagged so that ``reply_from_document`` gives them back."""
    return {
        "text": reply.text,
        "buttons": [
            {"title": button.title, "payload": button.payload, "url": button.url}
            for button in reply.buttons
        ],
        "image": (
            {"url": reply.image.url, "alt": reply.image.alt, "media_key": reply.image.media_key}
            if reply.image
            else None
        ),
        "copy_text": reply.copy_text,
        "notice": (
            {
                "template": reply.notice.template,
                "values": _tagged(dict(reply.notice.values)),
                "locale": reply.notice.locale,
            }
            if reply.notice
            else None
        ),
    }


def reply_from_document(document: dict[str, Any]) -> Reply:
    image = document.get("image")
    notice = document.get("notice")
    return Reply(
        text=document["text"],
        buttons=tuple(
            Button(button["title"], button.get("payload"), button.get("url"))
            for button in document.get("buttons", ())
        ),
        image=Image(image["url"], image.get("alt", ""), image.get("media_key")) if image else None,
        copy_text=document.get("copy_text"),
        notice=(
            Notice(notice["template"], _untagged(notice["values"]), notice["locale"])
            if notice
            else None
        ),
    )


_TAGS: dict[str, Any] = {"$datetime": datetime.fromisoformat, "$date": date.fromisoformat}


def _tagged(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _tagged(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_tagged(item) for item in value]
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    return value


def _untagged(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            [(tag, text)] = value.items()
            if tag in _TAGS:
                return _TAGS[tag](text)
            if tag == "$decimal":
                return Decimal(text)
        return {key: _untagged(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_untagged(item) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class Parse:
    """What the understanding step made of a message."""

    intent: str
    confidence: float
    entities: Mapping[str, Any]
    locale: str


@dataclass(frozen=True, slots=True)
class Choice:
    """A button as an action asks for it: a label key from ``prompts/labels.j2``."""

    label: str
    payload: str | None = None
    url: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action decided to say: a template key, its values and its buttons."""

    template: str
    values: Mapping[str, Any] = field(default_factory=dict)
    choices: tuple[Choice, ...] = ()
    image: Image | None = None
    copy_text: str | None = None
    """A code the reader copies whole (see ``Reply.copy_text``)."""


TurnStatus = Literal["handled", "duplicate", "rate_limited", "busy", "failed"]


@dataclass(frozen=True, slots=True)
class TurnResult:
    """What the engine did with one message, for the adapter to translate."""

    status: TurnStatus
    replies: tuple[Reply, ...] = ()
    retry_after: float | None = None
