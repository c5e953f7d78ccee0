"""Alert messages on Discord: one message per alert in a channel, edited in place (a message
edit, ``PATCH /channels/{channel}/messages/{message}``) when the alert repeats, resolves or is
acknowledged.

An alert is one message, so text beyond Discord's 2,000 characters is cut rather than split. A
message the staff deleted is sent again, and the new one is edited from then on.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.core.types import Reply
from channels.discord.outbound import DiscordSender, parts_of, provider_errors

UNKNOWN_MESSAGE = 10008
"""Discord's error code for a message that no longer exists."""


class DiscordAlertPoster:
    editable = True

    def __init__(self, sender: DiscordSender) -> None:
        self._sender = sender

    async def post(self, conversation: str, reply: Reply) -> str | None:
        channel = self._sender.client.get_partial_messageable(int(conversation))
        async with provider_errors():
            message = await channel.send(**await self._message(reply))
        return str(message.id)

    async def edit(self, conversation: str, ref: str, reply: Reply) -> str | None:
        channel = self._sender.client.get_partial_messageable(int(conversation))
        async with provider_errors():
            try:
                await channel.get_partial_message(int(ref)).edit(**await self._message(reply))
            except discord.NotFound as gone:
                if gone.code != UNKNOWN_MESSAGE:
                    raise
                message = await channel.send(**await self._message(reply))
                return str(message.id)
        return ref

    async def _message(self, reply: Reply) -> dict[str, Any]:
        parts = parts_of(reply.text) or [""]
        content = parts[0] if len(parts) == 1 else parts[0][:-1] + "…"
        return {
            "content": content,
            "allowed_mentions": discord.AllowedMentions.none(),
            "view": await self._sender.view(reply.buttons),
        }
