"""The Slack channel end to end: slack-bolt with its real signature check, the Web API client
pointed at a local fake, and the handoff between a Telegram guest and the Slack team."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.root.settings import Settings
from channels.slack.channel import EVENTS_PATH
from tests.fakes import slack as fakes
from tests.fakes.slack import signed
from tests.fakes.telegram import text_update
from tests.support.slack_desk import GROUPIE, GUEST, STAFF, TEAM, Desk, open_desk
from tests.support.stays import in_portuguese, off_season_stay

SettingsFactory = Callable[..., Settings]


@pytest.fixture
async def desk(aiohttp_client: Any, backend_settings: SettingsFactory) -> AsyncIterator[Desk]:
    async with open_desk(aiohttp_client, backend_settings) as opened:
        yield opened


async def test_a_guest_greets_asks_and_books_with_a_payment_link_button(desk: Desk) -> None:
    [greeting] = await desk.event("DGUEST01", GUEST, "oi")
    assert greeting.params["text"].startswith(("Olá", "Oi"))
    assert desk.value("DGUEST01", "Reservar") == "intent:book"
    answer = await desk.event("DGUEST01", GUEST, "qual a senha do wifi?")
    assert "wi-fi" in answer[-1].params["text"].lower()
    check_in, check_out = off_season_stay()
    stay = f"de {in_portuguese(check_in)} a {in_portuguese(check_out)}"
    asked = await desk.event("DGUEST01", GUEST, f"quero reservar na Pousada do Mar {stay}")
    assert "Quantos hóspedes" in asked[-1].params["text"]
    await desk.press("DGUEST01", GUEST, desk.value("DGUEST01", "2 adultos"))
    await desk.press("DGUEST01", GUEST, desk.value("DGUEST01", "Quarto Standard"))
    await desk.event("DGUEST01", GUEST, "Maria Souza & Filhos")
    summary = await desk.event("DGUEST01", GUEST, "maria@example.com")
    section = summary[-1].params["blocks"][0]["text"]["text"]
    assert "Maria Souza &amp; Filhos" in section, "escaped for mrkdwn"
    await desk.press("DGUEST01", GUEST, desk.value("DGUEST01", "Confirmar"))
    await desk.press("DGUEST01", GUEST, desk.value("DGUEST01", "Pagar agora"))
    assert "/checkout/sandbox/" in desk.value("DGUEST01", "Abrir a página de pagamento")


def test_mrkdwn_control_characters_are_escaped_and_long_text_split() -> None:
    from bot.core.types import Button, Reply
    from channels.slack.outbound import SECTION_LIMIT, blocks_of

    blocks = blocks_of(Reply("<!channel> a <b> & c", (Button("Pay", url="https://x/pay"),)))
    assert blocks[0]["text"]["text"] == "&lt;!channel&gt; a &lt;b&gt; &amp; c"
    assert blocks[1]["elements"][0]["url"] == "https://x/pay"
    long = blocks_of(Reply(("word " * 1000 + "\n\n") * 3))
    assert len(long) > 1
    assert all(len(block["text"]["text"]) <= SECTION_LIMIT for block in long)


async def test_staff_by_id_or_user_group_run_a_staff_command_and_a_guest_is_refused(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    [staff] = await desk.press(TEAM, STAFF, "intent:ops_report")
    assert staff.params["text"].startswith("De nada!")
    [groupie] = await desk.press(TEAM, GROUPIE, "intent:ops_report")
    assert groupie.params["text"].startswith("De nada!")
    capsys.readouterr()
    [guest] = await desk.press("DGUEST01", GUEST, "intent:ops_report")
    assert "só para a equipe do hotel" in guest.params["text"]
    assert "intent_refused" in capsys.readouterr().out


async def test_the_slash_command_acknowledges_and_answers_through_respond(desk: Desk) -> None:
    body = fakes.command(TEAM, STAFF, "ajuda", desk.respond_url)
    response = await desk.client.post(
        EVENTS_PATH,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **signed(body)},
    )
    assert response.status == 200
    await desk.settle()
    [answer] = desk.slack.sent("response_url")
    assert answer.params["text"]
    assert answer.params["blocks"][0]["type"] == "section"


async def test_retries_and_the_same_message_as_two_events_are_answered_once(desk: Desk) -> None:
    first = fakes.event("message", "DGUEST02", GUEST, "oi", channel_type="im")
    body = json.dumps(first)
    assert await desk.post(body) == 200
    retry = {**signed(body), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert await desk.post(body, retry) == 200
    mention = fakes.event(
        "app_mention", "DGUEST02", GUEST, "<@UBOT0001> oi", ts=first["event"]["ts"]
    )
    assert await desk.post(json.dumps(mention)) == 200
    await desk.settle()
    assert len(desk.slack.sent(channel="DGUEST02")) == 1


async def test_a_bad_signature_or_stale_request_is_401_and_nothing_is_processed(
    desk: Desk,
) -> None:
    body = json.dumps(fakes.event("message", "DGUEST03", GUEST, "oi", channel_type="im"))
    assert await desk.post(body, signed(body, secret="not-the-secret")) == 401
    assert await desk.post(body, signed(body, at=1_000_000_000)) == 401
    assert await desk.post(body, {}) == 401
    await desk.settle()
    assert desk.slack.sent(channel="DGUEST03") == []
    failures = desk.runtime.metrics.registry.get_sample_value(
        "rsv_webhook_verification_failures_total", {"source": "slack", "reason": "signature"}
    )
    assert failures == 3  # what the security alert rule counts


async def test_malformed_requests_are_ignored_with_a_log_line(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    status = await desk.post("{not json")
    broken = fakes.event("message", "DGUEST04", GUEST, "oi", channel_type="im")
    del broken["event"]["user"]
    await desk.post(json.dumps(broken))
    await desk.settle()
    assert status == 400
    out = capsys.readouterr().out
    assert "slack_request_malformed" in out
    assert "slack_event_ignored" in out
    assert desk.slack.sent(channel="DGUEST04") == []


async def test_proactive_messages_are_retried_on_429_and_500_then_counted(desk: Desk) -> None:
    from bot.core.types import Address, Outcome

    desk.slack.fail("chat.postMessage", 429)
    desk.slack.fail("chat.postMessage", 500)
    await desk.runtime.notifier.notify(Address("slack", TEAM), "en", [Outcome("smalltalk/thanks")])
    await desk.settle()
    assert desk.slack.texts(TEAM)[0].startswith("You're welcome")
    desk.slack.fail("chat.postMessage", 500, times=10)
    await desk.runtime.notifier.notify(Address("slack", TEAM), "en", [Outcome("smalltalk/thanks")])
    await desk.settle()
    registry = desk.runtime.metrics.registry
    assert (
        registry.get_sample_value("rsv_deliveries_total", {"channel": "slack", "result": "failed"})
        == 1
    )
    assert registry.get_sample_value("rsv_delivery_retries_total", {"channel": "slack"}) >= 5


async def test_handoff_from_a_telegram_guest_to_the_slack_team_and_back(desk: Desk) -> None:
    guest = "5001"

    async def guest_says(text: str) -> None:
        assert await desk.client.post(
            "/telegram/webhook",
            json=text_update(5001, text),
            headers={"X-Telegram-Bot-Api-Secret-Token": _telegram_secret(desk)},
        )
        await desk.settle()

    await guest_says("qual o horário do café da manhã?")
    await guest_says("quero falar com um atendente")
    [request] = desk.slack.sent(channel=TEAM)
    text = request.params["text"]
    assert "telegram" in text
    assert "pt_BR" in text
    assert "café da manhã" in text, "the last messages come along"
    take = desk.value(TEAM, "Assumir")
    [refused] = await desk.press("DGUEST09", GUEST, take)
    assert "só para a equipe" in refused.params["text"]

    [took] = await desk.press(TEAM, STAFF, take)
    assert "Agora você está falando com o hóspede" in took.params["text"]
    assert "Uma pessoa da nossa equipe" in desk.telegram.texts(guest)[-1]

    mention = fakes.event("app_mention", TEAM, STAFF, "<@UBOT0001> Oi, aqui é a Carla")
    assert await desk.post(json.dumps(mention)) == 200
    await desk.settle()
    assert desk.telegram.texts(guest)[-1] == "Nossa equipe: Oi, aqui é a Carla"

    answered = len(desk.telegram.texts(guest))
    await guest_says("obrigado, Carla")
    assert len(desk.telegram.texts(guest)) == answered, "the bot stays quiet meanwhile"
    assert desk.slack.texts(TEAM)[-1] == "Hóspede: obrigado, Carla"

    [released] = await desk.press(TEAM, STAFF, desk.value(TEAM, "Devolver ao bot"))
    assert "voltou para o bot" in released.params["text"]
    assert "assistente virtual" in desk.telegram.texts(guest)[-1]
    await guest_says("oi")
    assert desk.telegram.texts(guest)[-1].startswith(("Olá", "Oi"))


async def test_guest_text_relayed_to_the_team_cannot_mention_or_link_in_notifications(
    desk: Desk,
) -> None:
    hostile = "<!channel> pague em <https://evil.example|seu banco> & <@USTAFF01>"

    async def guest_says(text: str) -> None:
        assert await desk.client.post(
            "/telegram/webhook",
            json=text_update(5002, text),
            headers={"X-Telegram-Bot-Api-Secret-Token": _telegram_secret(desk)},
        )
        await desk.settle()

    await guest_says(hostile)
    await guest_says("quero falar com um atendente")
    await desk.press(TEAM, STAFF, desk.value(TEAM, "Assumir"))
    await guest_says(hostile)

    escaped = (
        "&lt;!channel&gt; pague em &lt;https://evil.example|seu banco&gt; &amp; &lt;@USTAFF01&gt;"
    )
    request, *_, relayed = desk.slack.sent(channel=TEAM)
    for call in (request, relayed):
        assert escaped in call.params["text"], "the notification text is escaped"
        assert "<!channel>" not in call.params["text"]
        assert escaped in call.params["blocks"][0]["text"]["text"]


def _telegram_secret(desk: Desk) -> str:
    from bot.root.secret import webhook_secret

    return webhook_secret(desk.runtime.settings, "telegram")


async def test_a_picture_from_the_media_store_is_uploaded(desk: Desk) -> None:
    from bot.core.types import Address, Outcome

    image = await desk.runtime.media.publish(b"\x89PNG-pool", "image/png", "the pool")
    await desk.runtime.notifier.notify(
        Address("slack", TEAM), "en", [Outcome("smalltalk/thanks", image=image)]
    )
    await desk.settle()
    [upload] = desk.slack.sent("upload")
    assert upload.params["bytes"] == b"\x89PNG-pool"
    [complete] = desk.slack.sent("files.completeUploadExternal")
    assert complete.params["channel_id"] == TEAM
    assert desk.slack.texts(TEAM)[-1].startswith("You're welcome")


async def test_text_over_the_limit_gets_the_polite_reply_in_the_users_language(
    desk: Desk,
) -> None:
    too_long = "a" * (desk.runtime.settings.max_text_chars + 1)
    [refused] = await desk.event("DGUEST05", GUEST, too_long)
    assert refused.params["text"] == "A mensagem é longa demais. Envie uma mais curta, por favor."
    desk.slack.locales["UENGLISH"] = "en-US"
    [english] = await desk.event("DGUEST06", "UENGLISH", too_long)
    assert english.params["text"] == "The message is too long. Please send a shorter one."
    body = fakes.command(TEAM, STAFF, too_long, desk.respond_url)
    response = await desk.client.post(
        EVENTS_PATH,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **signed(body)},
    )
    assert response.status == 200
    await desk.settle()
    [answer] = desk.slack.sent("response_url")
    assert answer.params["text"] == "A mensagem é longa demais. Envie uma mais curta, por favor."
