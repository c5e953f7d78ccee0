"""What an alert is delivered through: small seams the composition root fills with the
providers (``channels/slack/alerts.py``, ``channels/email.py``, the provider channels).

Each raises on failure; the desk retries with backoff whatever it raises, then gives the alert
to the fallback destination.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.types import Reply


class ChatPoster(Protocol):
    editable: bool
    """True when ``edit`` changes the message in place; else an update is a new message."""

    async def post(self, conversation: str, reply: Reply) -> str | None:
        """Send the message; the provider's id of it when it can be edited later."""

    async def edit(self, conversation: str, ref: str, reply: Reply) -> str | None:
        """Replace the message ``ref`` with ``reply``; the id of the message that shows the
        alert now when it is another (the old one was deleted: it was sent again)."""


class Mailer(Protocol):
    async def send(self, to: str, subject: str, text: str, html: str) -> None:
        """One e-mail, multipart text and HTML."""


class WebhookPoster(Protocol):
    async def post(self, url: str, reply: Reply) -> None:
        """One message to an incoming webhook (which cannot edit what it posted)."""
