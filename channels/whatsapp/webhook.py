"""What Meta posts to the webhook: the signature check and the notification, read.

A notification (``object: whatsapp_business_account``) holds entries of changes; a
``messages`` change carries guests' messages and the statuses of ours. Everything the channel
does not use is ignored, everything it uses is checked: a body that is not such a notification
raises ``MalformedNotification`` (the webhook answers 400 and does nothing).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.edge.json_body import MalformedJson, json_object

SIGNATURE_HEADER = "X-Hub-Signature-256"
MessageKind = Literal["text", "reply", "location", "image", "voice", "other"]


class MalformedNotification(ValueError):
    """The body is not a WhatsApp Business Account notification."""


def signature_matches(body: bytes, header: str, app_secret: bytes) -> bool:
    """``X-Hub-Signature-256`` is ``sha256=`` and the HMAC-SHA256 of the raw body, in hex."""
    expected = b"sha256=" + hmac.new(app_secret, body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, header.encode("utf-8", "surrogateescape"))


def sign(body: bytes, app_secret: bytes) -> str:
    """The header value Meta sends for ``body`` (the fake Graph API and the benchmark use it)."""
    return "sha256=" + hmac.new(app_secret, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    message_id: str
    sender: str
    """The guest's WhatsApp id (their number, digits only): the conversation."""
    kind: MessageKind
    text: str | None = None
    """Typed text, an image's caption, a location's name and address."""
    reply_id: str | None = None
    """The id of the button or list row the guest chose."""
    media_id: str | None = None
    """A voice note's media id, to download."""


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    message_id: str
    recipient: str
    status: str
    error_codes: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Notification:
    messages: tuple[IncomingMessage, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Text(_Loose):
    body: str


class _Choice(_Loose):
    id: str


class _Interactive(_Loose):
    type: str
    button_reply: _Choice | None = None
    list_reply: _Choice | None = None


class _TemplateButton(_Loose):
    payload: str | None = None
    text: str | None = None


class _Location(_Loose):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class _Media(_Loose):
    id: str
    caption: str | None = None
    voice: bool | None = None


class _Message(_Loose):
    id: str = Field(min_length=1)
    sender: str = Field(alias="from", min_length=1)
    type: str
    text: _Text | None = None
    interactive: _Interactive | None = None
    button: _TemplateButton | None = None
    location: _Location | None = None
    image: _Media | None = None
    audio: _Media | None = None


class _Error(_Loose):
    code: int


class _Status(_Loose):
    id: str = Field(min_length=1)
    recipient_id: str = ""
    status: str
    errors: tuple[_Error, ...] = ()


class _Value(_Loose):
    messages: tuple[_Message, ...] = ()
    statuses: tuple[_Status, ...] = ()


class _Change(_Loose):
    field: str
    value: _Value


class _Entry(_Loose):
    changes: tuple[_Change, ...] = ()


class _Notification(_Loose):
    object: Literal["whatsapp_business_account"]
    entry: tuple[_Entry, ...]


def parse_notification(body: bytes) -> Notification:
    try:
        notification = _Notification.model_validate(json_object(body))
    except (MalformedJson, ValidationError) as error:
        raise MalformedNotification(type(error).__name__) from None
    values = [
        change.value
        for entry in notification.entry
        for change in entry.changes
        if change.field == "messages"
    ]
    return Notification(
        messages=tuple(_message(message) for value in values for message in value.messages),
        statuses=tuple(
            StatusUpdate(
                status.id,
                status.recipient_id,
                status.status,
                tuple(error.code for error in status.errors),
            )
            for value in values
            for status in value.statuses
        ),
    )


def _message(message: _Message) -> IncomingMessage:
    def read(kind: MessageKind, **fields: str | None) -> IncomingMessage:
        return IncomingMessage(message.id, message.sender, kind, **fields)

    if message.type == "text" and message.text is not None:
        return read("text", text=message.text.body)
    if message.type == "interactive" and message.interactive is not None:
        chosen = message.interactive.button_reply or message.interactive.list_reply
        if chosen is not None:
            return read("reply", reply_id=chosen.id)
    if message.type == "button" and message.button is not None:  # a template's quick reply
        return read("text", text=message.button.text or message.button.payload)
    if message.type == "location" and message.location is not None:
        place = message.location
        described = ", ".join(part for part in (place.name, place.address) if part)
        return read("location", text=described or None)
    if message.type == "image" and message.image is not None:
        return read("image", text=message.image.caption)
    if message.type == "audio" and message.audio is not None:
        return read("voice", media_id=message.audio.id)
    return read("other")
