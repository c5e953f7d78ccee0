"""The Telegram channel end to end: aiogram talks to a local Bot API server (tests/fakes), and
updates come in through the webhook with Telegram's secret token header."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from actions.booking.conversation import deep_link
from bot import Outcome
from bot.core.payloads import PayloadStore
from bot.core.types import Address
from bot.outbound.delivery import Courier, DeliveryQueue, Pace, UnreachableStore
from bot.root.app import PROVIDER_CHANNELS, build_runtime, create_app
from bot.root.providers import telegram_bot
from bot.root.secret import webhook_secret
from bot.root.settings import Settings
from bot.stores.memory import MemoryValueStore
from channels.telegram import channel as telegram_channel
from channels.telegram.channel import TelegramChannel
from channels.telegram.outbound import TelegramSender
from channels.telegram.registration import WEBHOOK_PATH
from tests.fakes.telegram import TOKEN, FakeTelegram, button_update, text_update, voice_update
from tests.fakes.transcription import FakeTranscription, Said
from tests.support.raw_http import raw_post
from tests.support.routers import staff_router
from tests.support.stays import in_portuguese, off_season_stay

SettingsFactory = Callable[..., Settings]
STAFF_USER = 4242


@dataclass
class Telegram:
    client: TestClient
    fake: FakeTelegram
    channel: TelegramChannel
    secret: str
    runtime: Any

    async def post(self, update: Any, secret: str | None = None, raw: str | None = None) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret if secret is None else secret}
        if raw is not None:
            response = await self.client.post(WEBHOOK_PATH, data=raw, headers=headers)
        else:
            response = await self.client.post(WEBHOOK_PATH, json=update, headers=headers)
        return response.status

    async def says(self, chat: int, text: str, **options: Any) -> list[str]:
        """Post the update, wait for the turn to finish and return what the chat got."""
        return await self._turn(chat, text_update(chat, text, **options))

    async def presses(self, chat: int, title: str) -> list[str]:
        data = self.button(chat, title)["callback_data"]
        return await self._turn(chat, button_update(chat, data))

    def button(self, chat: int, title: str) -> dict[str, Any]:
        for call in reversed(self.fake.calls):
            if call.chat_id == str(chat):
                for row in call.keyboard:
                    if row[0]["text"].startswith(title):
                        return dict(row[0])
        raise AssertionError(f"no button {title!r}")

    async def _turn(self, chat: int, update: Any) -> list[str]:
        before = len(self.fake.sent(chat_id=str(chat)))
        assert await self.post(update) == 200
        await self.channel.drain()
        return [
            call.params.get("text") or call.params.get("caption", "")
            for call in self.fake.sent(chat_id=str(chat))[before:]
        ]


@pytest.fixture
async def telegram(aiohttp_client: Any, backend_settings: SettingsFactory) -> Telegram:
    fake = FakeTelegram()
    server = TestServer(fake.app())
    await server.start_server()
    settings = backend_settings(
        staff_ids=[f"telegram:{STAFF_USER}"],
        telegram={
            "token": TOKEN,
            "api_url": str(server.make_url("")).rstrip("/"),
            "chat_interval_seconds": 0.01,
        },
    )
    runtime = build_runtime(settings, override=staff_router())
    app = create_app(settings, runtime)
    client = await aiohttp_client(app)
    yield Telegram(
        client,
        fake,
        app[PROVIDER_CHANNELS]["telegram"],
        webhook_secret(settings, "telegram"),
        runtime,
    )
    await server.close()


async def test_a_guest_greets_asks_and_books_with_a_payment_link_button(
    telegram: Telegram,
) -> None:
    greeting = await telegram.says(1001, "oi")
    assert greeting
    assert greeting[0].startswith(("Olá", "Oi"))
    sent = telegram.fake.sent("sendMessage", "1001")[-1]
    assert sent.params["parse_mode"] == "HTML"

    wifi = await telegram.says(1001, "qual a senha do wifi?")
    assert any("Wi-Fi" in text or "wifi" in text.lower() for text in wifi), wifi

    check_in, check_out = off_season_stay()
    stay = f"de {in_portuguese(check_in)} a {in_portuguese(check_out)}"
    assert (
        "Quantos hóspedes"
        in (await telegram.says(1001, f"quero reservar na Pousada do Mar {stay}"))[-1]
    )
    assert "Quarto Standard" in " ".join(await telegram.presses(1001, "2 adultos"))
    assert "Em nome de quem" in (await telegram.presses(1001, "Quarto Standard"))[-1]
    assert "e-mail" in (await telegram.says(1001, "Maria Souza & Filhos"))[-1]
    summary = (await telegram.says(1001, "maria@example.com"))[-1]
    assert "Maria Souza &amp; Filhos" in summary, "escaped for the HTML parse mode"
    assert re.search(r"RSV-[A-Z0-9]{6}", " ".join(await telegram.presses(1001, "Confirmar")))
    assert "link de pagamento" in " ".join(await telegram.presses(1001, "Pagar agora"))
    link = telegram.button(1001, "Abrir a página de pagamento")
    assert link["url"].startswith("http")
    assert "/checkout/sandbox/" in link["url"]
    assert "callback_data" not in link


async def test_typing_shows_while_a_slow_turn_works(
    telegram: Telegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What counts as slow is set per step, so that no step depends on how busy the machine is.
    monkeypatch.setattr(telegram_channel, "TYPING_AFTER_SECONDS", 0.0)
    assert await telegram._turn(1012, button_update(1012, "intent:slow_report"))
    [typing] = telegram.fake.sent("sendChatAction", "1012")
    assert typing.params["action"] == "typing"
    monkeypatch.setattr(telegram_channel, "TYPING_AFTER_SECONDS", 60.0)
    await telegram.says(1012, "oi")
    assert len(telegram.fake.sent("sendChatAction", "1012")) == 1, "a fast turn needs none"


async def test_deep_link_opens_the_booking_of_that_property(telegram: Telegram) -> None:
    texts = await telegram.says(1002, "/start pousada-do-mar")
    assert "Para quando" in texts[-1] or "datas" in texts[-1], texts
    assert telegram.button(1002, "Cancelar")


async def test_language_code_is_the_locale_hint(telegram: Telegram) -> None:
    assert (await telegram.says(1003, "/start", language="es"))[0].startswith("¡Hola")
    assert (await telegram.says(1004, "/start", language="en"))[0].startswith(("Hello", "Hi"))


async def test_a_staff_member_runs_a_staff_command_and_a_guest_is_refused(
    telegram: Telegram, capsys: pytest.CaptureFixture[str]
) -> None:
    staff = await telegram._turn(STAFF_USER, button_update(STAFF_USER, "intent:ops_report"))
    assert len(staff) == 1, staff
    assert staff[0].startswith("De nada!")
    guest = await telegram._turn(1005, button_update(1005, "intent:ops_report"))
    assert "só para a equipe do hotel" in guest[0], guest


async def test_a_long_payload_travels_as_a_short_key_within_64_bytes(
    telegram: Telegram,
) -> None:
    payload = "intent:faq|topic=cancellation_policy|property=pousada-do-mar-and-a-long-slug"
    data = await PayloadStore(telegram.runtime.stores.payloads).shorten(payload, 64)
    assert len(data.encode()) <= 64
    texts = await telegram._turn(1006, button_update(1006, data))
    assert len(texts) == 1, texts
    assert texts[0].startswith("Política de cancelamento da Pousada do Mar"), texts
    unknown = await telegram._turn(1006, button_update(1006, "~unknownkey"))
    assert len(unknown) == 1, unknown
    assert "Esse botão não vale mais" in unknown[0], "an unknown key gets the expired-button answer"


async def test_a_retried_update_is_answered_once(telegram: Telegram) -> None:
    update = text_update(1007, "oi", update_id=55)
    assert await telegram.post(update) == 200
    assert await telegram.post(update) == 200
    await telegram.channel.drain()
    assert len(telegram.fake.sent("sendMessage", "1007")) == 1


async def test_a_wrong_or_missing_secret_token_is_401_and_nothing_happens(
    telegram: Telegram,
) -> None:
    assert await telegram.post(text_update(1008, "oi"), secret="wrong") == 401
    assert await telegram.post(text_update(1008, "oi"), secret="") == 401
    body = json.dumps(text_update(1008, "oi")).encode()
    for token in (b"caf\xc3\xa9", b"\xff\xfe", telegram.secret.encode() + b"\x80"):
        header = [(b"X-Telegram-Bot-Api-Secret-Token", token)]
        assert await raw_post(telegram.client, WEBHOOK_PATH, header, body) == 401
    await telegram.channel.drain()
    assert telegram.fake.sent(chat_id="1008") == []
    failures = telegram.runtime.metrics.registry.get_sample_value(
        "rsv_webhook_verification_failures_total", {"source": "telegram", "reason": "secret"}
    )
    assert failures == 5  # what the security alert rule counts


async def test_malformed_updates_are_refused_with_a_log_line(
    telegram: Telegram, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert await telegram.post(None, raw="{not json") == 400
    assert await telegram.post({"update_id": "x", "message": 3}) == 400
    assert await telegram.post({"update_id": 9, "message": {"chat": {}}}) == 400
    assert await telegram.post(None, raw="[]") == 400
    assert capsys.readouterr().out.count("telegram_update_malformed") == 4
    sticker = text_update(1009, "x")
    del sticker["message"]["text"]
    sticker["message"]["sticker"] = {"file_id": "s", "file_unique_id": "s", "type": "regular",
                                     "width": 1, "height": 1, "is_animated": False,
                                     "is_video": False}  # fmt: skip
    assert await telegram.post(sticker) == 200
    await telegram.channel.drain()
    assert "telegram_update_ignored" in capsys.readouterr().out
    assert telegram.fake.sent(chat_id="1009") == []


async def test_a_message_over_the_limit_is_refused_politely_in_the_users_language(
    telegram: Telegram,
) -> None:
    limit = telegram.runtime.settings.max_text_chars
    assert await telegram.says(1010, "a" * limit), "at the limit it is a message like any other"
    texts = await telegram.says(1010, "a" * (limit + 1))
    assert texts == ["A mensagem é longa demais. Envie uma mais curta, por favor."]
    english = await telegram.says(1010, "a" * (limit + 1), language="en")
    assert english == ["The message is too long. Please send a shorter one."]


async def test_a_proactive_picture_is_uploaded_from_the_media_store(
    telegram: Telegram,
) -> None:
    image = await telegram.runtime.media.publish(b"\x89PNG-bytes", "image/png", "the pool")
    await telegram.runtime.notifier.notify(
        Address("telegram", "1011"), "en", [Outcome("smalltalk/thanks", image=image)]
    )
    [photo] = await telegram.fake.wait_for("sendPhoto", 1)
    assert photo.file == b"\x89PNG-bytes"
    assert photo.params["caption"].startswith("You're welcome")


async def test_guest_text_relayed_to_staff_stays_text_in_the_html_parse_mode(
    telegram: Telegram,
) -> None:
    hostile = '<a href="https://evil.example">pague aqui</a> <b>&amp;</b>'
    await telegram.runtime.notifier.notify(
        Address("telegram", "1012"), "en", [Outcome("handoff/guest_says", {"text": hostile})]
    )
    [sent] = await telegram.fake.wait_for("sendMessage", 1)
    assert sent.params["parse_mode"] == "HTML"
    assert sent.params["text"] == (
        'Guest: &lt;a href="https://evil.example"&gt;pague aqui&lt;/a&gt; '
        "&lt;b&gt;&amp;amp;&lt;/b&gt;"
    )


async def test_set_webhook_registers_the_url_secret_and_update_types(
    make_settings: SettingsFactory,
) -> None:
    from bot.root.cli import set_telegram_webhook

    fake = FakeTelegram()
    server = TestServer(fake.app())
    await server.start_server()
    settings = make_settings(
        public_url="https://bot.pousada.example",
        telegram={
            "token": TOKEN,
            "api_url": str(server.make_url("")).rstrip("/"),
            "webhook_secret": "s3cret-token_1",
        },
    )
    try:
        said = await set_telegram_webhook(settings)
    finally:
        await server.close()
    [call] = fake.sent("setWebhook")
    assert call.params["url"] == "https://bot.pousada.example/telegram/webhook"
    assert call.params["secret_token"] == "s3cret-token_1"
    assert json.loads(call.params["allowed_updates"]) == ["message", "callback_query"]
    assert "https://bot.pousada.example/telegram/webhook" in said


async def test_a_refused_webhook_registration_says_why(make_settings: SettingsFactory) -> None:
    from bot.root.cli import set_telegram_webhook
    from channels.telegram.registration import RegistrationFailed

    fake = FakeTelegram()
    fake.fail("setWebhook", 400)
    server = TestServer(fake.app())
    await server.start_server()
    settings = make_settings(
        telegram={"token": TOKEN, "api_url": str(server.make_url("")).rstrip("/")}
    )
    try:
        with pytest.raises(RegistrationFailed, match="message text is empty"):
            await set_telegram_webhook(settings)
    finally:
        await server.close()


async def test_polling_mode_answers_without_a_webhook(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    fake = FakeTelegram()
    server = TestServer(fake.app())
    await server.start_server()
    fake.updates.append(text_update(6001, "oi", update_id=1))
    settings = make_settings(
        telegram={
            "token": TOKEN,
            "api_url": str(server.make_url("")).rstrip("/"),
            "mode": "polling",
        }
    )
    client = await aiohttp_client(create_app(settings))
    try:
        [answer] = await fake.wait_for("sendMessage", 1)
        assert answer.chat_id == "6001"
        assert fake.sent("deleteWebhook"), "a webhook would make Telegram refuse getUpdates"
        response = await client.post(WEBHOOK_PATH, json=text_update(6001, "oi"))
        assert response.status == 404, "no webhook route in polling mode"
    finally:
        await client.close()
        await server.close()


async def test_the_webhook_holds_back_while_too_many_updates_are_in_flight(
    telegram: Telegram, aiohttp_client: Any
) -> None:
    runtime = telegram.runtime
    payloads = PayloadStore(MemoryValueStore())
    sender = TelegramSender(telegram_bot(runtime.settings), payloads, runtime.media.store)
    unreachable = UnreachableStore(MemoryValueStore())
    queue = DeliveryQueue(Courier("telegram", sender.send, Pace(0.0), runtime.metrics, unreachable))
    parts = (runtime.engine, runtime.renderer, sender, queue, payloads, runtime.roles)
    limit = runtime.settings.max_text_chars
    channel = TelegramChannel(
        *parts,
        max_text_chars=limit,
        deep_link=deep_link,
        verification=runtime.metrics.webhook_verification,
        max_in_flight=2,
    )
    app = web.Application()
    channel.mount_webhook(app, telegram.secret)
    bounded = Telegram(await aiohttp_client(app), telegram.fake, channel, telegram.secret, runtime)

    async def post(chat: int) -> float:
        assert await bounded.post(button_update(chat, "intent:slow_report")) == 200
        return time.monotonic()

    answered = await asyncio.gather(post(1101), post(1102), post(1103))
    await channel.drain()
    first_reply = min(call.at for call in telegram.fake.sent("sendMessage"))
    assert sorted(answered)[1] < first_reply, "two updates are taken at once"
    assert sorted(answered)[2] >= first_reply, "the third waits until a turn has finished"
    assert {call.chat_id for call in telegram.fake.sent("sendMessage")} == {"1101", "1102", "1103"}


async def test_without_an_endpoint_a_voice_message_gets_a_request_to_type(
    telegram: Telegram,
) -> None:
    telegram.fake.files["v1"] = b"OggS-voice"
    assert await telegram._turn(1201, voice_update(1201, "v1", 10)) == [
        "Ainda não consigo ouvir áudios por aqui. Pode escrever para mim, por favor?"
    ]
    assert telegram.fake.sent("getFile") == [], "nothing is downloaded for nothing"


async def test_a_voice_message_is_transcribed_and_answered_as_text(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    fake, transcription = FakeTelegram(), FakeTranscription()
    servers = [TestServer(fake.app()), TestServer(transcription.app())]
    for server in servers:
        await server.start_server()
    settings = make_settings(
        telegram={"token": TOKEN, "api_url": str(servers[0].make_url("")).rstrip("/")},
        llm={"base_url": str(servers[1].make_url("/v1")), "voice_max_seconds": 30},
    )
    app = create_app(settings, build_runtime(settings, override=staff_router()))
    channel = app[PROVIDER_CHANNELS]["telegram"]
    secret = webhook_secret(settings, "telegram")
    bot = Telegram(await aiohttp_client(app), fake, channel, secret, None)
    try:
        fake.files["v2"] = b"OggS-hello"
        transcription.scripts[b"OggS-hello"] = Said("oi, tudo bem?")
        answered = await bot._turn(1202, voice_update(1202, "v2", 10))
        assert answered[0].startswith(("Olá", "Oi")), answered
        assert transcription.received == [("whisper-1", b"OggS-hello")]
        too_long = await bot._turn(1202, voice_update(1202, "v2", 10, seconds=31))
        assert too_long == [
            "Esse áudio é longo demais para mim. Pode mandar um mais curto ou escrever?"
        ]
        assert len(transcription.received) == 1, "a note over the duration limit is not sent"
    finally:
        for server in servers:
            await server.close()
