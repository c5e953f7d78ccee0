"""A front desk on Slack: the bot with its Slack and Telegram channels against their local fakes,
the staff and a guest on the Slack side, and what each channel has sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.root.app import PROVIDER_CHANNELS, build_runtime, create_app
from bot.root.settings import Settings
from channels.slack.channel import EVENTS_PATH, SlackChannel
from channels.telegram.channel import TelegramChannel
from tests.fakes import slack as fakes
from tests.fakes.slack import FakeSlack, signed
from tests.fakes.telegram import TOKEN as TELEGRAM_TOKEN
from tests.fakes.telegram import FakeTelegram
from tests.support.routers import staff_router

STAFF, GROUPIE, GUEST = "USTAFF01", "UGROUP01", "UGUEST01"
"""A staff member by id, one by the user group ``SFRONT01``, and a guest."""
TEAM = "CTEAM001"
"""The team's channel, where handoffs go."""


@dataclass
class Desk:
    client: TestClient
    slack: FakeSlack
    telegram: FakeTelegram
    slack_channel: SlackChannel
    telegram_channel: TelegramChannel
    respond_url: str
    runtime: Any

    async def post(
        self,
        body: str,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> int:
        sent = {"Content-Type": content_type, **(signed(body) if headers is None else headers)}
        response = await self.client.post(EVENTS_PATH, data=body, headers=sent)
        return response.status

    async def event(self, channel: str, user: str, text: str, **options: Any) -> list[Any]:
        before = len(self.slack.sent(channel=channel))
        assert (
            await self.post(
                json.dumps(
                    fakes.event("message", channel, user, text, channel_type="im", **options)
                )
            )
            == 200
        )
        await self.settle()
        return self.slack.sent(channel=channel)[before:]

    async def press(self, channel: str, user: str, value: str) -> list[Any]:
        before = len(self.slack.sent(channel=channel))
        body = fakes.button(channel, user, value)
        assert await self.post(body, content_type="application/x-www-form-urlencoded") == 200
        await self.settle()
        return self.slack.sent(channel=channel)[before:]

    def value(self, channel: str, title: str) -> str:
        for call in reversed(self.slack.sent(channel=channel)):
            for element in call.buttons():
                if element["text"]["text"].startswith(title):
                    return str(element.get("value") or element.get("url"))
        raise AssertionError(f"no button {title!r}")

    async def settle(self) -> None:
        await self.slack_channel.drain()
        await self.telegram_channel.drain()
        for queue in (self.slack_channel._queue, self.telegram_channel._queue):
            await queue.join()


@asynccontextmanager
async def open_desk(
    aiohttp_client: Any, backend_settings: Callable[..., Settings], **overrides: Any
) -> AsyncIterator[Desk]:
    """The bot with Slack and Telegram against their local fakes; ``overrides`` are settings."""
    slack, telegram = FakeSlack(), FakeTelegram()
    slack.locales = {GUEST: "pt-BR", STAFF: "pt-BR"}
    slack.groups = {"SFRONT01": [GROUPIE]}
    servers = [TestServer(slack.app()), TestServer(telegram.app())]
    for server in servers:
        await server.start_server()
    slack.base = str(servers[0].make_url("")).rstrip("/")
    settings = backend_settings(
        staff_ids=[f"slack:{STAFF}", "slack:group:SFRONT01"],
        handoff_address=f"slack:{TEAM}",
        **overrides,
        slack={
            "bot_token": fakes.TOKEN,
            "signing_secret": fakes.SIGNING_SECRET,
            "api_url": str(servers[0].make_url("/api/")),
            "channel_interval_seconds": 0.0,
        },
        telegram={
            "token": TELEGRAM_TOKEN,
            "api_url": str(servers[1].make_url("")).rstrip("/"),
            "chat_interval_seconds": 0.0,
        },
    )
    runtime = build_runtime(settings, override=staff_router())
    app = create_app(settings, runtime)
    client = await aiohttp_client(app)
    channels = app[PROVIDER_CHANNELS]
    try:
        yield Desk(
            client,
            slack,
            telegram,
            channels["slack"],
            channels["telegram"],
            str(servers[0].make_url("/respond/1")),
            runtime,
        )
    finally:
        for server in servers:
            await server.close()
