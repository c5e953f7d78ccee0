"""A reply as Discord messages: escaped markdown, buttons as components, pictures as files.

A button's ``custom_id`` holds at most 100 characters: longer payloads travel as short keys
(``bot.core.payloads``). Mentions are never allowed, so no guest text can ping ``@everyone``.
discord.py honours Discord's rate-limit headers itself (it waits out each bucket and retries
429s and 5xx); what still fails becomes a ``bot.outbound.delivery`` outcome.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import discord
from aiohttp import ClientError

from bot.core.payloads import PayloadStore
from bot.core.types import Button, Reply
from bot.outbound.delivery import RetryLater, Unreachable
from bot.stores.base import MediaStore
from channels.text import split_text

CUSTOM_ID_CHARS = 100
MESSAGE_LIMIT = 2000
VIEW_SECONDS = 600.0
"""How long discord.py keeps a sent view; presses are handled by ``on_interaction`` anyway."""


def parts_of(text: str) -> list[str]:
    """Escaped parts within Discord's limit (escaping can lengthen a part: split it again)."""
    parts = []
    for part in split_text(text, MESSAGE_LIMIT):
        escaped = discord.utils.escape_markdown(part)
        if len(escaped) <= MESSAGE_LIMIT:
            parts.append(escaped)
        else:
            parts.extend(discord.utils.escape_markdown(p) for p in split_text(part, 1000))
    return parts


class DiscordSender:
    def __init__(self, client: discord.Client, payloads: PayloadStore, media: MediaStore) -> None:
        self.client = client
        self._payloads = payloads
        self._media = media

    async def send(self, channel_id: str, reply: Reply) -> None:
        """One reply to a channel: raises ``RetryLater`` or ``Unreachable`` as expected."""
        channel = self.client.get_partial_messageable(int(channel_id))
        async with provider_errors():
            for message in await self.messages(reply):
                await channel.send(**message)

    async def messages(self, reply: Reply) -> list[dict[str, Any]]:
        """Keyword arguments of each ``send`` the reply takes; the last one has the buttons."""
        messages: list[dict[str, Any]] = [
            {"content": part, "allowed_mentions": discord.AllowedMentions.none()}
            for part in parts_of(reply.text)
        ] or [{"allowed_mentions": discord.AllowedMentions.none()}]
        if reply.image is not None:
            media = await self._media.get(reply.image.media_key) if reply.image.media_key else None
            if media is not None:
                messages[0]["file"] = discord.File(
                    io.BytesIO(media.data), "picture.png", description=reply.image.alt or None
                )
            else:
                messages[0]["embed"] = discord.Embed().set_image(url=reply.image.url)
        view = await self.view(reply.buttons)
        if view is not None:
            messages[-1]["view"] = view
        return messages

    async def view(self, buttons: tuple[Button, ...]) -> discord.ui.View | None:
        if not buttons:
            return None
        view = discord.ui.View(timeout=VIEW_SECONDS)
        for button in buttons[:25]:
            label = button.title[:80]
            if button.url is not None:
                view.add_item(discord.ui.Button(label=label, url=button.url))
            elif button.payload is not None:
                custom_id = await self._payloads.shorten(button.payload, CUSTOM_ID_CHARS)
                view.add_item(discord.ui.Button(label=label, custom_id=custom_id))
        return view


@asynccontextmanager
async def provider_errors() -> AsyncIterator[None]:
    try:
        yield
    except discord.RateLimited as busy:
        raise RetryLater(busy.retry_after) from busy
    except discord.DiscordServerError as down:
        raise RetryLater() from down
    except (discord.Forbidden, discord.NotFound) as gone:
        raise Unreachable() from gone
    except (ClientError, TimeoutError) as error:
        raise RetryLater() from error
