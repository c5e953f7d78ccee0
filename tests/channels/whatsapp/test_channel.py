"""The WhatsApp channel end to end: the bot talks to a local Graph API (tests/fakes/whatsapp),
and notifications come in through the webhook signed with the app secret, as Meta signs them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from aiohttp.test_utils import TestServer

from bot.core.types import Address, Outcome
from bot.root.settings import Settings
from channels.whatsapp import channel as whatsapp_channel
from tests.fakes import whatsapp as meta
from tests.fakes.transcription import FakeTranscription, Said
from tests.support.raw_http import raw_post
from tests.support.stays import in_portuguese, off_season_stay
from tests.support.whatsapp_chat import GUEST, WhatsApp, open_whatsapp, texts

SettingsFactory = Callable[..., Settings]


@pytest.fixture
async def whatsapp(
    aiohttp_client: Any, backend_settings: SettingsFactory
) -> AsyncIterator[WhatsApp]:
    async with open_whatsapp(aiohttp_client, backend_settings) as opened:
        yield opened


async def test_a_guest_greets_asks_and_books_with_buttons_a_list_and_a_payment_link(
    whatsapp: WhatsApp,
) -> None:
    greeting = await whatsapp.says("oi")
    assert greeting, "the guest is answered"
    assert greeting[0].text.startswith(("Olá", "Oi")), texts(greeting)
    wifi = await whatsapp.says("qual a senha do wifi?")
    assert any("wi-fi" in text.lower() or "wifi" in text.lower() for text in texts(wifi))

    check_in, check_out = off_season_stay()
    stay = f"de {in_portuguese(check_in)} a {in_portuguese(check_out)}"
    asked = await whatsapp.says(f"quero reservar na Pousada do Mar {stay}")
    assert "Quantos hóspedes" in asked[-1].text
    rooms = await whatsapp.chooses("2 adultos")
    assert "Quarto Standard" in " ".join(
        [c["title"] for call in rooms for c in call.choices] + texts(rooms)
    )
    assert "Em nome de quem" in (await whatsapp.chooses("Quarto Standard"))[-1].text
    assert "e-mail" in (await whatsapp.says("Maria Souza & Filhos"))[-1].text
    summary = (await whatsapp.says("maria_souza_@example.com"))[-1].text
    assert "Maria Souza & Filhos" in summary
    assert "maria_souza_@example.com" in summary, "underscores inside a word stay as typed"
    confirmed = await whatsapp.chooses("Confirmar")
    assert re.search(r"RSV-[A-Z0-9]{6}", " ".join(texts(confirmed)))
    paying = await whatsapp.chooses("Pagar agora")
    assert "link de pagamento" in " ".join(texts(paying))
    link = whatsapp.link()
    assert link["url"].startswith("http")
    assert len(link["display_text"]) <= 20


async def book_and_pay(whatsapp: WhatsApp, guest: str = GUEST) -> list[meta.Call]:
    check_in, check_out = off_season_stay()
    stay = f"de {in_portuguese(check_in)} a {in_portuguese(check_out)}"
    await whatsapp.says(f"quero reservar na Pousada do Mar {stay}", guest)
    await whatsapp.chooses("2 adultos", guest)
    await whatsapp.chooses("Quarto Standard", guest)
    await whatsapp.says("Maria Souza", guest)
    await whatsapp.says("maria@example.com", guest)
    await whatsapp.chooses("Confirmar", guest)
    return await whatsapp.chooses("Pagar agora", guest)


async def test_pix_comes_as_its_own_copyable_message_and_a_qr_image(whatsapp: WhatsApp) -> None:
    paying = await book_and_pay(whatsapp)
    [code] = [
        payment["point_of_interaction"]["transaction_data"]["qr_code"]
        for payment in whatsapp.mercadopago.payments.values()
    ]
    kinds = [call.kind for call in paying]
    code_message = next(call for call in paying if call.kind == "text" and call.text == code)
    explained = paying[paying.index(code_message) - 1]
    assert explained.text.startswith("Prefere Pix?")
    assert code not in explained.text, "the code is copied from its own message, not the text"
    assert "\u200b" not in code_message.text, "the code is sent exactly as the bank reads it"
    image = paying[paying.index(code_message) + 1]
    assert image.kind == "image", kinds
    data, content_type = whatsapp.graph.uploads[image.document["image"]["id"]]
    assert data.startswith(b"\x89PNG")
    assert content_type == "image/png"


async def test_a_confirmation_25_hours_later_goes_as_the_approved_template(
    whatsapp: WhatsApp, frozen_time: time_machine.Coordinates
) -> None:
    await whatsapp.says("oi")
    facts = {
        "code": "RSV-ABC123",
        "property": "Pousada do Mar",
        "room": "Quarto Standard",
        "checkin": "2027-01-10",
        "checkout": "2027-01-12",
        "total": 71200,
        "currency": "BRL",
    }
    confirmed = Outcome("booking/confirmed", facts)
    await whatsapp.runtime.notifier.notify(Address("whatsapp", GUEST), "pt_BR", [confirmed])
    await whatsapp.settle()
    within = whatsapp.graph.sent(GUEST)[-1]
    assert within.kind == "text", "within the window the notice is free-form"
    assert within.text.startswith("Pagamento recebido!")

    frozen_time.shift(timedelta(hours=25))
    await whatsapp.runtime.notifier.notify(Address("whatsapp", GUEST), "pt_BR", [confirmed])
    await whatsapp.settle()
    template = whatsapp.graph.sent(GUEST)[-1]
    assert template.kind == "template"
    assert template.document["template"]["name"] == "rsv_booking_confirmed"
    assert template.document["template"]["language"] == {"code": "pt_BR"}
    [body] = template.document["template"]["components"]
    assert [p["text"] for p in body["parameters"]] == [
        "RSV-ABC123",
        "Pousada do Mar",
        "2027-01-10",
        "2027-01-12",
    ]


async def test_a_notice_without_a_template_outside_the_window_marks_the_guest_unreachable(
    whatsapp: WhatsApp, frozen_time: time_machine.Coordinates
) -> None:
    await whatsapp.says("oi")
    frozen_time.shift(timedelta(hours=25))
    thanks = Outcome("smalltalk/thanks")
    before = len(whatsapp.graph.sent(GUEST))
    await whatsapp.runtime.notifier.notify(Address("whatsapp", GUEST), "en", [thanks])
    await whatsapp.settle()
    assert len(whatsapp.graph.sent(GUEST)) == before, "free text outside the window is refused"
    assert deliveries(whatsapp, "unreachable") == 1
    await whatsapp.runtime.notifier.notify(Address("whatsapp", GUEST), "en", [thanks])
    await whatsapp.settle()
    assert deliveries(whatsapp, "skipped") == 1
    assert await whatsapp.says("oi"), "writing again opens the conversation"
    await whatsapp.runtime.notifier.notify(Address("whatsapp", GUEST), "en", [thanks])
    await whatsapp.settle()
    assert whatsapp.graph.sent(GUEST)[-1].text.startswith("You're welcome")


async def test_a_failed_status_outside_the_window_resends_the_notice_as_its_template(
    whatsapp: WhatsApp,
) -> None:
    await whatsapp.says("oi")
    expired = Outcome("booking/hold_expired", {"code": "RSV-XYZ789"})
    await whatsapp.runtime.notifier.notify(Address("whatsapp", GUEST), "pt_BR", [expired])
    await whatsapp.settle()
    free_form = whatsapp.graph.sent(GUEST)[-1]
    assert "RSV-XYZ789" in free_form.text
    assert free_form.message_id is not None
    failed = meta.status(free_form.message_id, GUEST, "failed", 131047)
    assert await whatsapp.post(meta.notification(statuses=[failed])) == 200
    await whatsapp.settle()
    template = whatsapp.graph.sent(GUEST)[-1]
    assert template.kind == "template"
    assert template.document["template"]["name"] == "rsv_hold_expired"
    assert template.document["template"]["components"][0]["parameters"] == [
        {"type": "text", "text": "RSV-XYZ789"}
    ]
    assert status_count(whatsapp, "failed", "131047") == 1
    assert await whatsapp.post(meta.notification(statuses=[failed])) == 200
    await whatsapp.settle()
    assert whatsapp.graph.sent(GUEST)[-1] is template, "one template per failed message"


async def test_statuses_are_counted_and_an_undeliverable_guest_is_skipped_until_they_write(
    whatsapp: WhatsApp,
) -> None:
    [answer] = await whatsapp.says("oi")
    assert answer.message_id is not None
    statuses = [
        meta.status(answer.message_id, GUEST, "sent"),
        meta.status(answer.message_id, GUEST, "delivered"),
        meta.status(answer.message_id, GUEST, "read"),
    ]
    assert await whatsapp.post(meta.notification(statuses=statuses)) == 200
    await whatsapp.settle()
    assert [status_count(whatsapp, s, "") for s in ("sent", "delivered", "read")] == [1, 1, 1]

    undeliverable = meta.status(answer.message_id, GUEST, "failed", 131026)
    assert await whatsapp.post(meta.notification(statuses=[undeliverable])) == 200
    await whatsapp.settle()
    assert status_count(whatsapp, "failed", "131026") == 1
    before = len(whatsapp.graph.sent(GUEST))
    thanks = Outcome("smalltalk/thanks")
    await whatsapp.runtime.notifier.notify(Address("whatsapp", GUEST), "en", [thanks])
    await whatsapp.settle()
    assert len(whatsapp.graph.sent(GUEST)) == before
    assert deliveries(whatsapp, "skipped") == 1


async def test_messages_are_marked_read_and_a_slow_turn_shows_typing(
    whatsapp: WhatsApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What counts as slow is set per step, so that no step depends on how busy the machine is.
    monkeypatch.setattr(whatsapp_channel, "TYPING_AFTER_SECONDS", 60.0)
    incoming = meta.text(GUEST, "oi")
    await whatsapp.turn(incoming)
    assert [read.document["message_id"] for read in whatsapp.graph.reads()] == [incoming["id"]]
    assert whatsapp.graph.reads(typing=True) == [], "a fast turn needs no typing"
    monkeypatch.setattr(whatsapp_channel, "TYPING_AFTER_SECONDS", 0.0)
    slow = meta.button_reply(GUEST, "intent:slow_report")
    answered = await whatsapp.turn(slow)
    assert answered[0].text.startswith("De nada")
    [typing] = whatsapp.graph.reads(typing=True)
    assert typing.document == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": slow["id"],
        "typing_indicator": {"type": "text"},
    }


async def test_a_deep_link_message_opens_the_booking_of_that_property(whatsapp: WhatsApp) -> None:
    answered = await whatsapp.says(
        "Olá! Quero fazer uma reserva na Pousada do Mar. [#pousada-do-mar]"
    )
    assert "Para quando" in answered[-1].text or "datas" in answered[-1].text, texts(answered)
    assert any(c["title"] == "Cancelar" for c in answered[-1].choices)


async def test_the_numbers_country_is_the_locale_hint(whatsapp: WhatsApp) -> None:
    assert (await whatsapp.says("hola", guest="34600111222"))[0].text.startswith("¡Hola")
    assert (await whatsapp.says("hello", guest="14155550100"))[0].text.startswith(("Hello", "Hi"))


async def test_a_message_delivered_twice_is_answered_once(whatsapp: WhatsApp) -> None:
    incoming = meta.text(GUEST, "oi")
    assert await whatsapp.deliver(incoming) == 200
    assert await whatsapp.deliver(incoming) == 200
    await whatsapp.settle()
    assert len(whatsapp.graph.sent(GUEST)) == 1
    assert len(whatsapp.graph.reads(typing=False)) == 1


async def test_a_wrong_or_missing_signature_is_401_and_nothing_happens(whatsapp: WhatsApp) -> None:
    document = meta.notification([meta.text(GUEST, "oi")])
    assert await whatsapp.post(document, signature="sha256=" + "0" * 64) == 401
    assert await whatsapp.post(document, signature="") == 401
    body, headers = meta.signed_body(document)
    tampered = body.replace(b"oi", b"io")
    response = await whatsapp.client.post("/whatsapp/webhook", data=tampered, headers=headers)
    assert response.status == 401
    for header in (b"sha256=caf\xc3\xa9", b"\xff\xfe"):
        raw = [(b"X-Hub-Signature-256", header)]
        assert await raw_post(whatsapp.client, "/whatsapp/webhook", raw, body) == 401
    await whatsapp.settle()
    assert whatsapp.graph.calls == []
    failures = whatsapp.runtime.metrics.registry.get_sample_value(
        "rsv_webhook_verification_failures_total", {"source": "whatsapp", "reason": "signature"}
    )
    assert failures == 5  # what the security alert rule counts


async def test_meta_verifies_the_webhook_with_the_token(whatsapp: WhatsApp) -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": meta.VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    response = await whatsapp.client.get("/whatsapp/webhook", params=query)
    assert (response.status, await response.text()) == (200, "1158201444")
    for wrong in (
        {"hub.verify_token": "nope"},
        {"hub.mode": "unsubscribe"},
        {"hub.verify_token": ""},
    ):
        response = await whatsapp.client.get("/whatsapp/webhook", params={**query, **wrong})
        assert response.status == 403
    failures = whatsapp.runtime.metrics.registry.get_sample_value(
        "rsv_webhook_verification_failures_total", {"source": "whatsapp", "reason": "verify_token"}
    )
    assert failures == 2  # a wrong token; an unsubscribe is no forgery


async def test_malformed_notifications_are_refused_with_a_log_line(
    whatsapp: WhatsApp, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    for document in (
        [],
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"field": "messages", "value": {"messages": [{"id": "x"}]}}]}],
        },
    ):
        assert await whatsapp.post(document) == 400
    assert capsys.readouterr().out.count("whatsapp_notification_malformed") == 4
    sticker = meta.message(GUEST, "sticker", {"id": "s1", "mime_type": "image/webp"})
    assert await whatsapp.turn(sticker) == []
    assert "whatsapp_message_ignored" in capsys.readouterr().out
    await whatsapp.settle()


async def test_a_message_over_the_limit_is_refused_politely(whatsapp: WhatsApp) -> None:
    limit = whatsapp.runtime.settings.max_text_chars
    assert texts(await whatsapp.says("a" * (limit + 1))) == [
        "A mensagem é longa demais. Envie uma mais curta, por favor."
    ]


async def test_a_proactive_chart_is_uploaded_from_the_media_store(whatsapp: WhatsApp) -> None:
    await whatsapp.says("oi")
    image = await whatsapp.runtime.media.publish(b"\x89PNG-chart", "image/png", "occupancy")
    await whatsapp.runtime.notifier.notify(
        Address("whatsapp", GUEST), "en", [Outcome("smalltalk/thanks", image=image)]
    )
    await whatsapp.settle()
    picture = whatsapp.graph.sent(GUEST)[-1]
    assert picture.kind == "image"
    assert picture.text.startswith("You're welcome"), "a short text is the caption"
    assert whatsapp.graph.uploads[picture.document["image"]["id"]] == (
        b"\x89PNG-chart",
        "image/png",
    )


async def test_rate_limits_and_server_errors_are_retried_then_delivered(whatsapp: WhatsApp) -> None:
    whatsapp.graph.fail(429, 130429)
    whatsapp.graph.fail(500, 131000)
    answered = await whatsapp.says("oi")
    assert len(answered) == 1
    assert retries(whatsapp) == 2


async def test_a_flood_of_guests_is_answered_every_one(whatsapp: WhatsApp) -> None:
    guests = [f"55119{n:08d}" for n in range(40)]
    documents = [meta.notification([meta.text(guest, "oi")]) for guest in guests]
    statuses = await asyncio.gather(*(whatsapp.post(document) for document in documents))
    assert set(statuses) == {200}
    await whatsapp.settle()
    assert {call.to for call in whatsapp.graph.sent()} == set(guests)
    assert len(whatsapp.graph.sent()) == len(guests)


def deliveries(whatsapp: WhatsApp, result: str) -> float:
    value = whatsapp.runtime.metrics.registry.get_sample_value(
        "rsv_deliveries_total", {"channel": "whatsapp", "result": result}
    )
    return value or 0.0


def retries(whatsapp: WhatsApp) -> float:
    value = whatsapp.runtime.metrics.registry.get_sample_value(
        "rsv_delivery_retries_total", {"channel": "whatsapp"}
    )
    return value or 0.0


def status_count(whatsapp: WhatsApp, status: str, code: str) -> float:
    value = whatsapp.runtime.metrics.registry.get_sample_value(
        "rsv_provider_statuses_total",
        {"channel": "whatsapp", "status": status, "error_code": code},
    )
    return value or 0.0


@pytest.fixture
async def listening(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> AsyncIterator[tuple[WhatsApp, FakeTranscription]]:
    """WhatsApp with the LLM endpoint's transcription on its local fake."""
    transcription = FakeTranscription()
    server = TestServer(transcription.app())
    await server.start_server()
    llm = {"base_url": str(server.make_url("/v1")), "voice_max_bytes": 4096}
    async with open_whatsapp(aiohttp_client, make_settings, llm=llm) as opened:
        yield opened, transcription
    await server.close()


async def test_a_voice_note_is_transcribed_and_handled_as_text(
    listening: tuple[WhatsApp, FakeTranscription],
) -> None:
    whatsapp, transcription = listening
    transcription.scripts[b"OggS-hello"] = Said("oi, bom dia")
    whatsapp.graph.incoming_media["media-voice-1"] = (b"OggS-hello", "audio/ogg; codecs=opus")
    answered = await whatsapp.turn(meta.voice(GUEST, "media-voice-1"))
    assert answered[0].text.startswith(("Olá", "Oi")), texts(answered)
    assert transcription.received == [("whisper-1", b"OggS-hello")]


async def test_an_unsure_transcription_says_what_was_understood_first(
    listening: tuple[WhatsApp, FakeTranscription],
) -> None:
    whatsapp, transcription = listening
    transcription.scripts[b"OggS-noisy"] = Said("qual a senha do wifi", confidence=0.3)
    whatsapp.graph.incoming_media["media-voice-2"] = (b"OggS-noisy", "audio/ogg")
    answered = await whatsapp.turn(meta.voice(GUEST, "media-voice-2"))
    assert answered[0].text == 'Entendi: "qual a senha do wifi"'
    assert any("wi-fi" in text.lower() for text in texts(answered[1:]))


async def test_a_voice_note_too_long_unclear_or_too_large_is_answered_politely(
    listening: tuple[WhatsApp, FakeTranscription],
) -> None:
    whatsapp, transcription = listening
    transcription.scripts[b"OggS-speech"] = Said("uma história muito longa", seconds=600)
    whatsapp.graph.incoming_media["long"] = (b"OggS-speech", "audio/ogg")
    whatsapp.graph.incoming_media["garbled"] = (b"OggS-garbled", "audio/ogg")
    whatsapp.graph.incoming_media["large"] = (b"O" * 5000, "audio/ogg")
    too_long = "Esse áudio é longo demais para mim. Pode mandar um mais curto ou escrever?"
    assert texts(await whatsapp.turn(meta.voice(GUEST, "long"))) == [too_long]
    assert texts(await whatsapp.turn(meta.voice(GUEST, "garbled"))) == [
        "Desculpe, não consegui entender o áudio. Pode escrever, por favor?"
    ]
    assert texts(await whatsapp.turn(meta.voice(GUEST, "large"))) == [too_long]
    assert len(transcription.received) == 2, "a note over the size limit is never sent"


async def test_without_an_endpoint_a_voice_note_gets_a_request_to_type(whatsapp: WhatsApp) -> None:
    whatsapp.graph.incoming_media["media-voice-3"] = (b"OggS", "audio/ogg")
    assert texts(await whatsapp.turn(meta.voice(GUEST, "media-voice-3"))) == [
        "Ainda não consigo ouvir áudios por aqui. Pode escrever para mim, por favor?"
    ]
    english = await whatsapp.turn(meta.voice("14155550100", "media-voice-3"), "14155550100")
    assert texts(english) == [
        "I can't listen to voice messages here yet. Could you type it for me, please?"
    ]
