"""Discord: direct messages, the ``/rsv`` slash command and buttons (components), on the
gateway with discord.py 2.

Staff are recognised by their server roles: ``RSV_STAFF_IDS=discord:group:<role id>``. Slash
commands and button presses are acknowledged at once (deferred) and answered as follow-ups.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import discord
import structlog
from aiohttp import web
from discord import app_commands

from bot.delivery import DeliveryQueue
from bot.engine import Engine
from bot.observability import pseudonym
from bot.payloads import PayloadStore
from bot.roles import RoleBook
from bot.types import Address, Message, Reply
from channels.discord.outbound import DiscordSender, provider_errors

CHANNEL = "discord"
UNKNOWN_BUTTON = "unknown"

log = structlog.get_logger("rsv360.discord")


class DiscordChannel:
    def __init__(
        self,
        engine: Engine[Any],
        sender: DiscordSender,
        queue: DeliveryQueue[Reply],
        payloads: PayloadStore,
        roles: RoleBook,
        *,
        token: str,
        max_text_chars: int,
        command_description: str,
        text_description: str,
    ) -> None:
        self._engine = engine
        self._sender = sender
        self._queue = queue
        self._payloads = payloads
        self._roles = roles
        self._token = token
        self._max_text_chars = max_text_chars
        self.client = sender.client
        self.tree = app_commands.CommandTree(self.client)
        self._inflight: set[asyncio.Task[Any]] = set()

        @self.tree.command(name="rsv", description=command_description[:100])
        @app_commands.describe(text=text_description[:100])
        async def rsv(interaction: discord.Interaction, text: str) -> None:
            await self._on_command(interaction, text)

        self.client.event(self.on_message)
        self.client.event(self.on_interaction)
        self.client.setup_hook = self._setup  # type: ignore[method-assign]

    def mount(self, app: web.Application) -> None:
        app.cleanup_ctx.append(self._gateway)

    async def _gateway(self, _: web.Application) -> AsyncIterator[None]:
        await self.client.login(self._token)
        connection = asyncio.create_task(self.client.connect(reconnect=True))
        yield
        await self.drain()
        await self._queue.close()
        await self.client.close()
        await asyncio.gather(connection, return_exceptions=True)

    async def _setup(self) -> None:
        await self.tree.sync()  # registers /rsv with Discord (PUT applications/{id}/commands)

    async def drain(self) -> None:
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    async def deliver(self, address: Address, replies: Sequence[Reply]) -> bool:
        """The notifier's deliverer: queued and retried; True once queued."""
        return await self._queue.put(address.conversation_id, list(replies))

    # -- events ----------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is not None:
            return  # servers talk to the bot through /rsv; only direct messages are read
        text = message.content.strip()
        if not text or len(text) > self._max_text_chars:
            log.info("discord_message_ignored", kind="empty_or_long")
            return
        channel = str(message.channel.id)

        async def post(reply: Reply) -> None:
            if not await self._queue.send_now(channel, reply):
                log.warning("discord_reply_lost", channel=pseudonym(f"{CHANNEL}:{channel}"))

        await self._track(self._turn(channel, message.author, str(message.id), None, post,
                                     text=text))  # fmt: skip

    async def _on_command(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.defer(thinking=True)
        text = text.strip()[: self._max_text_chars] or "help"
        await self._track(self._interaction_turn(interaction, text=text))

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
        await self._track(self._interaction_turn(interaction, payload=payload))

    # -- work --------------------------------------------------------------------------------

    async def _interaction_turn(
        self, interaction: discord.Interaction, *, text: str | None = None,
        payload: str | None = None,
    ) -> None:  # fmt: skip
        channel = str(interaction.channel_id)

        async def follow_up(reply: Reply) -> None:
            async with provider_errors():
                for message in await self._sender.messages(reply):
                    await interaction.followup.send(**message)

        await self._turn(channel, interaction.user, str(interaction.id), str(interaction.locale),
                         follow_up, text=text, payload=payload)  # fmt: skip

    async def _turn(
        self,
        channel: str,
        user: discord.User | discord.Member,
        update_id: str,
        locale: str | None,
        reply: Callable[[Reply], Awaitable[None]],
        *,
        text: str | None = None,
        payload: str | None = None,
    ) -> None:
        groups = [str(role.id) for role in user.roles] if isinstance(user, discord.Member) else []
        result = await self._engine.handle(
            Message(
                channel=CHANNEL,
                conversation_id=channel,
                user_id=str(user.id),
                text=text,
                payload=payload,
                locale_hint=locale,
                update_id=update_id,
                role=self._roles.role_of(CHANNEL, str(user.id), groups),
            )
        )
        for answer in result.replies:
            await reply(answer)

    async def _track(self, work: Awaitable[None]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            await work
        except Exception:  # the engine answers its own failures; this is the adapter's
            log.exception("discord_work_failed")
        finally:
            if task is not None:
                self._inflight.discard(task)
