"""REST channel: ``POST /api/v1/messages`` end to end, plus the health, readiness and metrics
endpoints that ``create_app`` mounts next to it.

Every test builds the real application and talks to it over HTTP with the aiohttp test client,
which connects from 127.0.0.1 (REST's loopback rule applies).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.root.app import create_app
from bot.root.settings import Settings
from tests.support.redis_servers import RedisServer
from tests.support.services import REDIS_URL

URL = "/api/v1/messages"
MIB = 1024 * 1024

MENU_PAYLOADS = ["intent:book", "intent:faq", "intent:my_bookings", "intent:human"]
# Distinctive parts of the rendered templates, per locale (see locales/*/LC_MESSAGES).
HELP_TEXT = {
    "pt_BR": "Veja o que posso fazer por você",
    "en": "Here is what I can do for you",
    "es": "Esto es lo que puedo hacer por ti",
}
UNKNOWN_BUTTON_PT = "Esse botão não vale mais"
PT_MENU_TITLES = ["Reservar", "Dúvidas", "Minhas reservas", "Falar com uma pessoa"]
ENGLISH_ERRORS = {
    "invalid_request": "The request is missing a field or has a field of the wrong type.",
    "invalid_json": "The request is not valid JSON.",
    "empty_message": "The message is empty.",
    "message_too_long": "The message is too long. Please send a shorter one.",
}

SettingsFactory = Callable[..., Settings]


def new_user() -> str:
    """A user id of its own per test, so that nothing in a shared Redis can leak across tests."""
    return f"user-{uuid.uuid4().hex}"


async def rest_client(aiohttp_client: Any, settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(settings))


async def post(client: TestClient, headers: dict[str, str] | None = None, **document: Any) -> Any:
    return await client.post(URL, json=document, headers=headers)


async def ok_replies(client: TestClient, **document: Any) -> list[dict[str, Any]]:
    """Post a message that must be answered and return its replies."""
    response = await post(client, **document)
    body = await response.json()
    assert response.status == 200, body
    assert body["conversation_id"] == document["user_id"]
    return body["replies"]


async def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"].strip()
    assert "{%" not in error["message"]
    return error


def assert_menu(reply: dict[str, Any]) -> None:
    payloads = [button["payload"] for button in reply["buttons"]]
    assert payloads == MENU_PAYLOADS
    assert all(button["title"].strip() for button in reply["buttons"])


async def assert_conversation_works(client: TestClient, user_id: str) -> None:
    """After a refused request, the same user still gets an ordinary answer."""
    replies = await ok_replies(client, user_id=user_id, text="oi")
    assert len(replies) == 1
    assert replies[0]["text"].startswith(("Olá", "Oi"))
    assert_menu(replies[0])


# --- happy paths -------------------------------------------------------------------------------


async def test_greeting_in_portuguese_by_default(
    aiohttp_client: Any, backend_settings: SettingsFactory
) -> None:
    client = await rest_client(aiohttp_client, backend_settings())
    user = new_user()

    response = await post(client, user_id=user, text="oi")

    assert response.status == 200
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"conversation_id", "replies"}
    assert body["conversation_id"] == user
    [reply] = body["replies"]
    assert "Olá" in reply["text"] or "Oi" in reply["text"]
    assert "Pousada do Mar" in reply["text"]
    assert len(reply["buttons"]) == 4
    assert all(button["payload"].startswith("intent:") for button in reply["buttons"])
    assert [button["title"] for button in reply["buttons"]] == PT_MENU_TITLES


async def test_greeting_in_english(aiohttp_client: Any, make_settings: SettingsFactory) -> None:
    client = await rest_client(aiohttp_client, make_settings())

    [reply] = await ok_replies(client, user_id=new_user(), text="hello", locale="en-US")

    assert reply["text"].startswith(("Hello!", "Hi, welcome"))
    assert [button["title"] for button in reply["buttons"]] == [
        "Book a stay",
        "Questions",
        "My bookings",
        "Talk to a person",
    ]
    assert_menu(reply)


async def test_greeting_in_spanish(aiohttp_client: Any, make_settings: SettingsFactory) -> None:
    client = await rest_client(aiohttp_client, make_settings())

    [reply] = await ok_replies(client, user_id=new_user(), text="hola", locale="es")

    assert reply["text"].startswith("¡Hola")
    assert "Pousada do Mar" in reply["text"]
    assert [button["title"] for button in reply["buttons"]][1] == "Preguntas"
    assert_menu(reply)


async def test_help_button_payload_shows_help_menu(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await rest_client(aiohttp_client, make_settings())

    [reply] = await ok_replies(client, user_id=new_user(), payload="intent:help")

    assert HELP_TEXT["pt_BR"] in reply["text"]
    assert_menu(reply)


async def test_help_button_payload_follows_locale(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await rest_client(aiohttp_client, make_settings())

    [reply] = await ok_replies(client, user_id=new_user(), payload="intent:help", locale="en")

    assert HELP_TEXT["en"] in reply["text"]


async def test_unknown_payload_answers_with_the_menu(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await rest_client(aiohttp_client, make_settings())

    [reply] = await ok_replies(client, user_id=new_user(), payload="xyz")

    assert UNKNOWN_BUTTON_PT in reply["text"]
    assert_menu(reply)


async def test_unknown_locale_falls_back_to_portuguese(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await rest_client(aiohttp_client, make_settings())

    [reply] = await ok_replies(client, user_id=new_user(), text="oi", locale="xx-YY")

    assert reply["text"].startswith(("Olá!", "Oi,"))
    assert [button["title"] for button in reply["buttons"]] == PT_MENU_TITLES


async def test_text_is_stripped_before_understanding(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await rest_client(aiohttp_client, make_settings())

    [reply] = await ok_replies(client, user_id=new_user(), text="  \n oi \t ")

    assert reply["text"].startswith(("Olá!", "Oi,"))


# --- bad input ---------------------------------------------------------------------------------

BAD_REQUESTS: list[Any] = [
    # (id, body: bytes sent as is, or a JSON document built for the user, status, code)
    pytest.param(b'{"user_id": "u", "text": ', 400, "invalid_json", id="invalid-json"),
    pytest.param(b"", 400, "invalid_json", id="empty-body"),
    pytest.param(lambda user: [user, "oi"], 400, "invalid_request", id="json-list"),
    pytest.param(lambda user: "oi", 400, "invalid_request", id="json-string"),
    pytest.param(lambda user: None, 400, "invalid_request", id="json-null"),
    pytest.param(lambda user: {"user_id": 42, "text": "oi"}, 400, "invalid_request", id="user-num"),
    pytest.param(
        lambda user: {"user_id": "", "text": "oi"}, 400, "invalid_request", id="user-empty"
    ),
    pytest.param(lambda user: {"text": "oi"}, 400, "invalid_request", id="missing-user-id"),
    pytest.param(lambda user: {"user_id": user, "text": 7}, 400, "invalid_request", id="text-num"),
    pytest.param(
        lambda user: {"user_id": user, "text": ["oi"]}, 400, "invalid_request", id="text-list"
    ),
    pytest.param(
        lambda user: {"user_id": user, "payload": 1}, 400, "invalid_request", id="payload-num"
    ),
    pytest.param(
        lambda user: {"user_id": user, "text": "oi", "locale": 5},
        400,
        "invalid_request",
        id="locale-num",
    ),
    pytest.param(
        lambda user: {"user_id": user, "text": "oi", "message_id": 5},
        400,
        "invalid_request",
        id="message-id-num",
    ),
    pytest.param(lambda user: {"user_id": user}, 400, "invalid_request", id="no-text-no-payload"),
    pytest.param(
        lambda user: {"user_id": user, "text": "oi", "payload": "intent:help"},
        400,
        "text_or_payload",
        id="text-and-payload",
    ),
    pytest.param(lambda user: {"user_id": user, "text": ""}, 400, "empty_message", id="text-empty"),
    pytest.param(
        lambda user: {"user_id": user, "text": " \n\t "}, 400, "empty_message", id="text-blank"
    ),
    pytest.param(
        lambda user: {"user_id": user, "text": "a" * 100_000},
        413,
        "message_too_long",
        id="text-100kB",
    ),
    pytest.param(
        lambda user: {"user_id": user, "payload": "intent:" + "x" * 300},
        413,
        "message_too_long",
        id="payload-too-long",
    ),
    pytest.param(
        lambda user: {"user_id": user, "text": "a" * (MIB + 1)},
        413,
        "payload_too_large",
        id="body-over-1MiB",
    ),
    pytest.param(
        lambda user: b'{"user_id": "' + user.encode() + b'", "text": "ol\xe1 \xff"}',
        400,
        "invalid_utf8",
        id="invalid-utf8",
    ),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_REQUESTS)
async def test_bad_request_is_refused_with_json_error_and_conversation_survives(
    aiohttp_client: Any, make_settings: SettingsFactory, body: Any, status: int, code: str
) -> None:
    client = await rest_client(aiohttp_client, make_settings())
    user = new_user()
    if callable(body):
        body = body(user)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    else:
        raw = body

    response = await client.post(URL, data=raw, headers={"Content-Type": "application/json"})

    await assert_error(response, status, code)
    await assert_conversation_works(client, user)


async def test_error_message_in_english_when_asked(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await rest_client(aiohttp_client, make_settings())
    user = new_user()

    response = await post(client, user_id=user, text=["oi"], locale="en")
    error = await assert_error(response, 400, "invalid_request")
    assert error["message"] == ENGLISH_ERRORS["invalid_request"]

    response = await post(client, user_id=user, text="   ", locale="en-GB")
    error = await assert_error(response, 400, "empty_message")
    assert error["message"] == ENGLISH_ERRORS["empty_message"]

    response = await post(client, user_id=user, text="a" * 5000, locale="en")
    error = await assert_error(response, 413, "message_too_long")
    assert error["message"] == ENGLISH_ERRORS["message_too_long"]


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (None, "A mensagem está vazia."),
        ("pt-BR", "A mensagem está vazia."),
        ("xx-YY", "A mensagem está vazia."),
        ("es", "El mensaje está vacío."),
    ],
)
async def test_error_message_is_translated(
    aiohttp_client: Any, make_settings: SettingsFactory, locale: str | None, expected: str
) -> None:
    client = await rest_client(aiohttp_client, make_settings())
    document: dict[str, Any] = {"user_id": new_user(), "text": ""}
    if locale is not None:
        document["locale"] = locale

    response = await post(client, **document)

    error = await assert_error(response, 400, "empty_message")
    assert error["message"] == expected


async def test_max_text_chars_setting_is_the_limit(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await rest_client(aiohttp_client, make_settings(max_text_chars=10))
    user = new_user()

    response = await post(client, user_id=user, text="oi oi oi o")  # exactly 10
    assert response.status == 200
    response = await post(client, user_id=user, text="oi oi oi oi")  # 11
    await assert_error(response, 413, "message_too_long")


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", "Bearer k1x", "Bearer ", "Basic k1", "k1", "Token k1"],
    ids=["none", "wrong-key", "key-prefix", "empty-bearer", "basic", "bare-key", "token-scheme"],
)
async def test_api_key_required_when_configured(
    aiohttp_client: Any, make_settings: SettingsFactory, authorization: str | None
) -> None:
    client = await rest_client(aiohttp_client, make_settings(api_keys=["k1"]))
    headers = {} if authorization is None else {"Authorization": authorization}
    user = new_user()

    response = await post(client, headers=headers, user_id=user, text="oi", locale="en")

    error = await assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # refused before the body is read, so the body's locale is not known: default pt_BR
    assert error["message"] == "Chave de API ausente ou inválida."
    response = await post(client, headers={"Authorization": "Bearer k1"}, user_id=user, text="oi")
    assert response.status == 200
    # the refused request never reached the engine: only the accepted one was counted
    metrics = await (await client.get("/metrics")).text()
    assert 'rsv_messages_total{channel="rest",intent="greet",status="handled"} 1.0' in metrics


@pytest.mark.parametrize("authorization", ["Bearer k1", "bearer k1", "Bearer k2", "BEARER  k2 "])
async def test_valid_api_key_is_accepted(
    aiohttp_client: Any, make_settings: SettingsFactory, authorization: str
) -> None:
    client = await rest_client(aiohttp_client, make_settings(api_keys=["k1", "k2"]))
    user = new_user()

    response = await post(client, headers={"Authorization": authorization}, user_id=user, text="oi")

    assert response.status == 200
    body = await response.json()
    assert body["conversation_id"] == user
    assert len(body["replies"]) == 1


async def test_api_keys_from_comma_separated_string(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await rest_client(aiohttp_client, make_settings(api_keys="k1, k2"))

    ok = await post(client, headers={"Authorization": "Bearer k2"}, user_id=new_user(), text="oi")
    refused = await post(client, headers={"Authorization": "Bearer k1, k2"}, user_id="u", text="oi")

    assert ok.status == 200
    await assert_error(refused, 401, "unauthorized")


async def test_loopback_accepted_without_keys(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await rest_client(aiohttp_client, make_settings())

    response = await post(client, user_id=new_user(), text="oi")

    assert response.status == 200


def remote_as(address: str) -> Any:
    """A test-only middleware that makes the request come from ``address`` (as if over a network),
    in front of the real handlers."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        return await handler(request.clone(remote=address))

    return middleware


@pytest.mark.parametrize("address", ["203.0.113.7", "10.0.0.2", "2001:db8::1", "unknown-peer"])
async def test_non_loopback_refused_without_keys(
    aiohttp_client: Any, make_settings: SettingsFactory, address: str
) -> None:
    app = create_app(make_settings())
    app.middlewares.append(remote_as(address))
    client = await aiohttp_client(app)

    response = await post(client, user_id=new_user(), text="oi")

    await assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1"])
async def test_loopback_addresses_accepted_without_keys(
    aiohttp_client: Any, make_settings: SettingsFactory, address: str
) -> None:
    app = create_app(make_settings())
    app.middlewares.append(remote_as(address))
    client = await aiohttp_client(app)

    response = await post(client, user_id=new_user(), text="oi")

    assert response.status == 200


async def test_non_loopback_accepted_with_a_valid_key(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    app = create_app(make_settings(api_keys=["k1"]))
    app.middlewares.append(remote_as("203.0.113.7"))
    client = await aiohttp_client(app)

    ok = await post(client, headers={"Authorization": "Bearer k1"}, user_id=new_user(), text="oi")
    refused = await post(client, user_id=new_user(), text="oi")

    assert ok.status == 200
    await assert_error(refused, 401, "unauthorized")


# --- dedupe ------------------------------------------------------------------------------------


async def test_same_message_id_is_answered_once(
    aiohttp_client: Any, backend_settings: SettingsFactory
) -> None:
    client = await rest_client(aiohttp_client, backend_settings())
    user = new_user()
    message_id = f"m-{uuid.uuid4().hex}"

    first = await ok_replies(client, user_id=user, text="oi", message_id=message_id)
    second = await post(client, user_id=user, text="oi", message_id=message_id)
    third = await ok_replies(client, user_id=user, text="oi", message_id=f"{message_id}-next")
    without_id = await ok_replies(client, user_id=user, text="oi")
    without_id_again = await ok_replies(client, user_id=user, text="oi")

    assert len(first) == 1
    assert second.status == 200
    assert await second.json() == {"conversation_id": user, "replies": []}
    assert len(third) == 1
    assert len(without_id) == 1
    assert len(without_id_again) == 1


async def test_same_message_id_from_another_user_is_not_a_duplicate(
    aiohttp_client: Any, backend_settings: SettingsFactory
) -> None:
    """A client-chosen message_id is unique per conversation only: another user's is answered."""
    client = await rest_client(aiohttp_client, backend_settings())
    message_id = f"m-{uuid.uuid4().hex}"

    first = await ok_replies(client, user_id=new_user(), text="oi", message_id=message_id)
    other = await ok_replies(client, user_id=new_user(), text="oi", message_id=message_id)

    assert len(first) == 1
    assert len(other) == 1


# --- rate limits -------------------------------------------------------------------------------


def limits_file(directory: Path, messages: str) -> Path:
    path = directory / "ratelimits.yaml"
    path.write_text(f"default:\n  messages: {messages}\n", encoding="utf-8")
    return path


async def test_rate_limit_refuses_the_sixth_message(
    aiohttp_client: Any, backend_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = backend_settings(rate_limits_file=limits_file(tmp_path, "5/minute"))
    client = await rest_client(aiohttp_client, settings)
    user, other = new_user(), new_user()

    for _ in range(5):
        assert len(await ok_replies(client, user_id=user, text="oi")) == 1
    refused = await post(client, user_id=user, text="oi", locale="en")

    error = await assert_error(refused, 429, "rate_limited")
    assert error["message"] == "Too many messages. Please wait a moment and try again."
    retry_after = refused.headers["Retry-After"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= 60
    # the flood goes on being refused, the other user is not affected
    again = await post(client, user_id=user, payload="intent:help")
    await assert_error(again, 429, "rate_limited")
    assert int(again.headers["Retry-After"]) >= 1
    assert len(await ok_replies(client, user_id=other, text="oi")) == 1


async def test_shipped_limits_refuse_the_101st_message_in_a_minute(
    aiohttp_client: Any, backend_settings: SettingsFactory
) -> None:
    settings = backend_settings()
    assert settings.rate_limits_file.name == "ratelimits.yaml"
    client = await rest_client(aiohttp_client, settings)
    user = new_user()

    statuses = [(await post(client, user_id=user, text="oi")).status for _ in range(100)]
    refused = await post(client, user_id=user, text="oi")

    assert statuses == [200] * 100
    await assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1
    assert (await post(client, user_id=new_user(), text="oi")).status == 200


# --- health, readiness, metrics ----------------------------------------------------------------


async def test_healthz(aiohttp_client: Any, make_settings: SettingsFactory) -> None:
    client = await rest_client(aiohttp_client, make_settings())

    response = await client.get("/healthz")

    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_readyz_without_redis(aiohttp_client: Any, make_settings: SettingsFactory) -> None:
    client = await rest_client(aiohttp_client, make_settings())

    response = await client.get("/readyz")

    assert response.status == 200
    assert await response.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_readyz_checks_redis(
    aiohttp_client: Any, make_settings: SettingsFactory, redis: Any
) -> None:
    client = await rest_client(aiohttp_client, make_settings(redis_url=REDIS_URL))

    response = await client.get("/readyz")

    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"redis": "ok", "database": "ok"}


async def test_metrics_tell_what_readyz_checks(
    aiohttp_client: Any, make_settings: SettingsFactory, redis: Any
) -> None:
    client = await rest_client(aiohttp_client, make_settings(redis_url=REDIS_URL))
    text = await (await client.get("/metrics")).text()
    assert 'rsv_dependency_up{dependency="database"} 1.0' in text
    assert 'rsv_dependency_up{dependency="redis"} 1.0' in text


async def test_metrics_tell_a_dependency_that_stopped_answering(
    aiohttp_client: Any, make_settings: SettingsFactory, redis_node: RedisServer
) -> None:
    settings = make_settings(redis_url=redis_node.url, redis_outage_seconds=1.0)
    client = await rest_client(aiohttp_client, settings)
    redis_node.kill()
    text = await (await client.get("/metrics")).text()
    assert 'rsv_dependency_up{dependency="redis"} 0.0' in text
    assert 'rsv_dependency_up{dependency="database"} 1.0' in text
    assert (await client.get("/readyz")).status == 503, "the same checks as /readyz"


async def test_metrics_count_messages_and_turn_time(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await rest_client(aiohttp_client, make_settings())
    assert (await post(client, user_id=new_user(), text="oi")).status == 200

    response = await client.get("/metrics")

    assert response.status == 200
    text = await response.text()
    assert 'rsv_messages_total{channel="rest",intent="greet",status="handled"} 1.0' in text
    assert 'rsv_turn_seconds_count{channel="rest"} 1.0' in text
    assert "rsv_turn_seconds_bucket" in text
