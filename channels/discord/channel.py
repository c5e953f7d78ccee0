"""Discord: direct messages, the ``/rsv`` slash command and buttons (components), on the
gateway with discord.py 2.

Staff are recognised by their server roles: ``RSV_STAFF_IDS=discord:group:<role id>``. Slash
commands and button presses are acknowledged at once (deferred) and answered as follow-ups.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import discord
import structlog
from aiohttp import web
from discord import app_commands

from bot.core.engine import Engine
from bot.core.payloads import PayloadStore
from bot.core.render import Renderer
from bot.core.roles import RoleBook
from bot.core.types import Reply
from bot.outbound.delivery import Outbox
from channels.background import MAX_IN_FLIGHT
from channels.discord.outbound import DiscordSender, provider_errors
from channels.provider import Inbound, ProviderChannel

CHANNEL = "discord"
UNKNOWN_BUTTON = "unknown"

log = structlog.get_logger("rsv360.discord")


class DiscordChannel(ProviderChannel):
    def __init__(
        self,
        engine: Engine[Any],
        renderer: Renderer,
        sender: DiscordSender,
        queue: Outbox[Reply],
        payloads: PayloadStore,
        roles: RoleBook,
        *,
        token: str,
        max_text_chars: int,
        command_description: str,
        text_description: str,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        super().__init__(CHANNEL, engine, renderer, roles, queue, max_text_chars, max_in_flight)
        self.sender = sender
        self._payloads = payloads
        self._token = token
        self.client = sender.client
        self.tree = app_commands.CommandTree(self.client)

        @self.tree.command(name="rsv", description=command_description[:100])
        @app_commands.describe(text=text_description[:100])
        async def rsv(interaction: discord.Interaction, text: str) -> None:
            await self._on_command(interaction, text)

        self.client.event(self.on_message)
        self.client.event(self.on_interaction)
        self.client.setup_hook = self._setup  # type: ignore[method-assign]

    def mount(self, app: web.Application) -> None:
        app.cleanup_ctx.append(self._gateway)

    async def open_for_sending(self) -> None:
        """Enough to send (a job worker); the gateway is for taking updates."""
        await self.client.login(self._token)

    async def _gateway(self, _: web.Application) -> AsyncIterator[None]:
        await self.open_for_sending()
        connection = asyncio.create_task(self.client.connect(reconnect=True))
        yield
        await self.close()
        await asyncio.gather(connection, return_exceptions=True)

    async def close(self) -> None:
        await super().close()
        await self.client.close()

    async def _setup(self) -> None:
        await self.tree.sync()  # registers /rsv with Discord (PUT applications/{id}/commands)

    # -- events ----------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is not None:
            return  # servers talk to the bot through /rsv; only direct messages are read
        text = message.content.strip()
        if not text:
            log.info("discord_message_ignored", kind="empty")
            return
        channel = str(message.channel.id)

        async def post(reply: Reply) -> bool:
            return await self._queue.send_now(channel, reply)

        inbound = _inbound(channel, message.author, str(message.id), None, text=text)
        await self.work.start(self.turn(inbound, post))

    async def _on_command(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.defer(thinking=True)
        await self.work.start(self._interaction_turn(interaction, text=text.strip() or "help"))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type != discord.InteractionType.component:
            return  # slash commands are the tree's
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = data.get("custom_id")
        if not isinstance(custom_id, str):
            log.info("discord_interaction_ignored", kind="component")
            return
        await interaction.response.defer()
        payload = await self._payloads.expand(custom_id) or UNKNOWN_BUTTON
        await self.work.start(self._interaction_turn(interaction, payload=payload))

    # -- work --------------------------------------------------------------------------------

    async def _interaction_turn(
        self,
        interaction: discord.Interaction,
        *,
        text: str | None = None,
        payload: str | None = None,
    ) -> None:
        async def follow_up(reply: Reply) -> bool:
            async with provider_errors():
                for message in await self.sender.messages(reply):
                    await interaction.followup.send(**message)
            return True

        inbound = _inbound(
            str(interaction.channel_id),
            interaction.user,
            str(interaction.id),
            str(interaction.locale),
            text=text,
            payload=payload,
        )
        await self.turn(inbound, follow_up)


def _inbound(
    channel: str,
    user: discord.User | discord.Member,
    update_id: str,
    locale: str | None,
    *,
    text: str | None = None,
    payload: str | None = None,
) -> Inbound:
    """Staff are recognised by their server roles, which only a member of a server has."""
    groups = tuple(str(role.id) for role in user.roles) if isinstance(user, discord.Member) else ()
    return Inbound(channel, str(user.id), update_id, text, payload, locale, groups)
