"""The Discord channel end to end: discord.py connects to a local gateway and REST API
(tests/fakes/discord.py); guests write in direct messages, staff use /rsv in the server and are
recognised by their server role."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import discord
import pytest
from aiohttp.test_utils import TestServer

from actions.alerts.desk import AlertDesk
from actions.alerts.model import Alert
from bot.core.payloads import PayloadStore
from bot.core.types import Address, Choice, Outcome
from bot.root.app import PROVIDER_CHANNELS, build_runtime, create_app
from bot.root.settings import Settings
from channels.discord.channel import DiscordChannel
from tests.fakes import discord as fakes
from tests.fakes.discord import FakeDiscord
from tests.support.routers import staff_router
from tests.support.services import REDIS_URL
from tests.support.stays import in_portuguese, off_season_stay

SettingsFactory = Callable[..., Settings]
GUEST, STAFF = "950000000000000001", "950000000000000002"


@dataclass
class Server:
    fake: FakeDiscord
    channel: DiscordChannel
    runtime: Any
    dm: str = "960000000000000001"

    async def says(self, text: str) -> list[str]:
        before = len(self.fake.sent(self.dm))
        author = fakes.user(GUEST)
        await self.fake.dispatch("MESSAGE_CREATE", fakes.message(self.dm, author, text))
        await self.settle(before, lambda: self.fake.sent(self.dm))
        return [call.content for call in self.fake.sent(self.dm)[before:]]

    async def presses(self, title: str, user_id: str = GUEST, **options: Any) -> list[str]:
        custom_id = self.button(title)["custom_id"]
        return await self.interacts(fakes.press(user_id, custom_id, **options))

    async def interacts(self, interaction: dict[str, Any]) -> list[str]:
        before = len(self.fake.follow_ups())
        await self.fake.dispatch("INTERACTION_CREATE", interaction)
        await self.settle(before, self.fake.follow_ups)
        return [call.content for call in self.fake.follow_ups()[before:]]

    def button(self, title: str) -> dict[str, Any]:
        for call in reversed(self.fake.calls):
            for button in call.buttons():
                if button.get("label", "").startswith(title):
                    return button
        raise AssertionError(f"no button {title!r}")

    async def settle(self, before: int, calls: Callable[[], list[Any]]) -> None:
        """Wait for the first answer, then for the turn to finish."""
        await self.fake.until(lambda: len(calls()) > before)
        await self.channel.drain()
        await self.channel._queue.join()


@pytest.fixture
async def server(
    aiohttp_client: Any, make_settings: SettingsFactory, redis: Any
) -> AsyncIterator[Server]:
    """On Redis only: each test waits out discord.py's 2 s for the servers to stream in, and the
    stores are tested on both backends by the other channels' tests."""
    fake = FakeDiscord()
    local = TestServer(fake.app())
    await local.start_server()
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    settings = make_settings(
        redis_url=REDIS_URL,
        staff_ids=[f"discord:group:{fakes.STAFF_ROLE}"],
        staff_alerts=f"discord:{fakes.STAFF_CHANNEL}",
        discord={
            "token": fakes.TOKEN,
            "api_url": str(local.make_url("/api/v10")),
            "gateway_url": str(local.make_url("/gateway")).replace("http", "ws", 1),
        },
    )
    runtime = build_runtime(settings, override=staff_router())
    app = create_app(settings, runtime)
    client = await aiohttp_client(app)
    channel = app[PROVIDER_CHANNELS]["discord"]
    async with asyncio.timeout(10):
        await channel.client.wait_until_ready()
    yield Server(fake, channel, runtime)
    await client.close()  # before the fake goes: discord.py would try to reconnect meanwhile
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = base, gateway
    await local.close()


async def test_the_slash_command_is_registered_at_startup(server: Server) -> None:
    [sync] = [c for c in server.fake.calls if c.path.endswith("/commands")]
    assert sync.method == "PUT"
    [command] = sync.body  # type: ignore[misc]
    assert command["name"] == "rsv"
    assert command["description"] == "Fale com o assistente do hotel"


async def test_a_guest_greets_asks_and_books_with_a_payment_link_button(server: Server) -> None:
    assert (await server.says("oi"))[0].startswith(("Olá", "Oi"))
    assert "wi-fi" in (await server.says("qual a senha do wifi?"))[-1].lower()
    check_in, check_out = off_season_stay()
    stay = f"de {in_portuguese(check_in)} a {in_portuguese(check_out)}"
    asked = await server.says(f"quero reservar na Pousada do Mar {stay}")
    assert "Quantos hóspedes" in asked[-1]
    dm = {"guild": False, "channel_id": server.dm}
    await server.presses("2 adultos", **dm)
    await server.presses("Quarto Standard", **dm)
    await server.says("Maria Souza")
    assert "Confira sua reserva" in (await server.says("maria@example.com"))[-1]
    await server.presses("Confirmar", **dm)
    assert "link de pagamento" in " ".join(await server.presses("Pagar agora", **dm))
    link = server.button("Abrir a página de pagamento")
    assert "/checkout/sandbox/" in link["url"]
    assert link["style"] == 5, "a link button"


async def test_the_staff_role_runs_a_staff_command_and_a_guest_is_refused(server: Server) -> None:
    staff = await server.interacts(
        fakes.press(STAFF, "intent:ops_report", guild=True, roles=[fakes.STAFF_ROLE])
    )
    assert staff[0].startswith("De nada!")
    guest = await server.interacts(fakes.press(GUEST, "intent:ops_report", guild=True))
    assert "só para a equipe do hotel" in guest[0]


async def test_slash_command_text_goes_to_the_engine_in_the_interaction_locale(
    server: Server,
) -> None:
    answer = await server.interacts(fakes.slash(GUEST, "hello", guild=True, locale="en-US"))
    assert answer[0].startswith(("Hello", "Hi"))
    assert any(c.path.startswith("/interactions/") for c in server.fake.calls), "deferred"


async def test_a_long_payload_becomes_a_custom_id_of_100_characters_at_most(
    server: Server,
) -> None:
    payload = "intent:faq|topic=cancellation_policy|property=" + "p" * 80
    cancel = Choice("cancel", payload=payload)
    thanks = Outcome("smalltalk/thanks", choices=(cancel,))
    await server.runtime.notifier.notify(Address("discord", fakes.STAFF_CHANNEL), "pt_BR", [thanks])
    await server.channel._queue.join()
    button = server.button("Cancelar")
    assert len(button["custom_id"]) <= 100
    payloads = PayloadStore(server.runtime.stores.payloads)
    assert await payloads.expand(button["custom_id"]) == payload


async def test_proactive_messages_survive_429_and_5xx(server: Server) -> None:
    server.fake.fail(429)
    server.fake.fail(500)
    await server.runtime.notifier.notify(
        Address("discord", fakes.STAFF_CHANNEL), "en", [Outcome("smalltalk/thanks")]
    )
    await server.channel._queue.join()
    [sent] = server.fake.sent(fakes.STAFF_CHANNEL)
    assert sent.content.startswith("You're welcome")


async def test_guest_text_relayed_to_staff_pings_nobody(server: Server) -> None:
    hostile = "@everyone @here <@123456789> <@&987654321> **now**"
    await server.runtime.notifier.notify(
        Address("discord", fakes.STAFF_CHANNEL),
        "en",
        [Outcome("handoff/guest_says", {"text": hostile})],
    )
    await server.channel._queue.join()
    [sent] = server.fake.sent(fakes.STAFF_CHANNEL)
    assert sent.body["allowed_mentions"] == {"parse": []}, "no mention of any kind pings"
    assert "\\*\\*now\\*\\*" in sent.content, "markdown escaped"


async def test_a_redelivered_message_is_answered_once_and_a_malformed_press_changes_nothing(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    event = fakes.message(server.dm, fakes.user(GUEST), "oi")
    await server.fake.dispatch("MESSAGE_CREATE", event)
    await server.fake.dispatch("MESSAGE_CREATE", event)  # a gateway resume replays it
    await server.settle(0, lambda: server.fake.sent(server.dm))
    assert len(server.fake.sent(server.dm)) == 1
    broken = fakes.interaction(3, GUEST, guild=True, data={"component_type": 2, "custom_id": 7})
    capsys.readouterr()
    await server.fake.dispatch("INTERACTION_CREATE", broken)
    assert (await server.says("obrigado"))[0].startswith("De nada"), "the bot is still there"
    assert "discord_interaction_ignored" in capsys.readouterr().out
    assert server.fake.follow_ups() == []


async def test_text_over_the_limit_gets_the_polite_reply_in_the_users_language(
    server: Server,
) -> None:
    too_long = "a" * (server.runtime.settings.max_text_chars + 1)
    assert await server.says(too_long) == [
        "A mensagem é longa demais. Envie uma mais curta, por favor."
    ]
    english = await server.interacts(fakes.slash(GUEST, too_long, guild=True, locale="en-US"))
    assert english == ["The message is too long. Please send a shorter one."]


async def test_an_alert_is_one_message_in_the_staff_channel_edited_in_place(server: Server) -> None:
    """On Redis the delivery jobs run on the durable queue: wait for what Discord receives."""
    desk, fake = server.runtime.services.get(AlertDesk), server.fake
    await desk.raise_alert(Alert("system", "warning", "am:disk", "Disk almost full"))
    await fake.until(lambda: len(fake.sent(fakes.STAFF_CHANNEL)) == 1)
    [posted] = fake.sent(fakes.STAFF_CHANNEL)
    assert posted.content.startswith("🟠 Sistema · atenção: Disk almost full")
    titles = [button["label"] for button in posted.buttons()]
    assert titles == ["Reconhecer", "Silenciar 1 h", "Silenciar 24 h"]
    [message_id] = list(fake.messages)

    acknowledge = posted.buttons()[0]["custom_id"]
    staff = {"guild": True, "roles": [fakes.STAFF_ROLE]}
    assert "reconhecido" in (await server.interacts(fakes.press(STAFF, acknowledge, **staff)))[0]
    await fake.until(lambda: len(fake.edits(fakes.STAFF_CHANNEL)) == 1)
    [acknowledged] = fake.edits(fakes.STAFF_CHANNEL)
    assert acknowledged.path.endswith(f"/messages/{message_id}")
    assert "Reconhecido por staff:discord:" in acknowledged.content
    assert fake.messages[message_id]["content"] == acknowledged.content

    del fake.messages[message_id]  # a staff member deleted it
    assert await desk.resolve("am:disk")
    await fake.until(lambda: len(fake.sent(fakes.STAFF_CHANNEL)) == 2)
    again = fake.sent(fakes.STAFF_CHANNEL)[-1]  # sent again, resolved
    assert again.content.startswith("✅ Resolvido")
    assert again.buttons() == []
