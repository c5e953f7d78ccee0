"""Web widget channel: the ``/ws`` WebSocket protocol end to end against the real application.

Client frames: ``hello`` (optional ``token``, ``locale``), ``message`` (``text``), ``button``
(``payload``). Server frames: ``session``, ``typing``, ``message``, ``error``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import WSCloseCode, WSMsgType, WSServerHandshakeError
from aiohttp.test_utils import TestClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from bot.root.app import build_runtime, create_app
from bot.root.settings import Settings
from tests.support.widget_socket import TIMEOUT, Socket, receive

MIB = 1024 * 1024
SECRET = "test-widget-secret"  # what tests/conftest.py's make_settings configures
SALT = "rsv360-widget"

MENU_PAYLOADS = ["intent:book", "intent:faq", "intent:my_bookings", "intent:human"]
PT_GREETINGS = ("Olá! Sou o assistente virtual", "Oi, que bom ter você")
HELP_TEXT = {
    "pt_BR": "Veja o que posso fazer por você",
    "en": "Here is what I can do for you",
}

SettingsFactory = Callable[..., Settings]


async def widget_client(aiohttp_client: Any, settings: Settings) -> TestClient:
    """The widget's app once the jobs due at start-up have run: a first turn that raced them
    waited behind them, once for over the 5 s a test waits for a frame (CI, a slow minute)."""
    runtime = build_runtime(settings)
    client: TestClient = await aiohttp_client(create_app(settings, runtime))
    await runtime.jobs.settled()
    return client


async def hello(ws: Socket, **fields: Any) -> dict[str, Any]:
    await ws.send_json({"type": "hello", **fields})
    session = await receive(ws)
    assert session["type"] == "session", session
    assert set(session) == {"type", "token", "conversation_id"}
    assert isinstance(session["token"], str)
    assert session["token"]
    assert isinstance(session["conversation_id"], str)
    assert session["conversation_id"]
    return session


async def connect(client: TestClient, **hello_fields: Any) -> tuple[Socket, dict[str, Any]]:
    ws = await client.ws_connect("/ws")
    return ws, await hello(ws, **hello_fields)


async def answer(ws: Socket) -> dict[str, Any]:
    """The frames of one answered turn: typing, then one message."""
    assert await receive(ws) == {"type": "typing"}
    reply = await receive(ws)
    assert reply["type"] == "message", reply
    assert isinstance(reply["text"], str)
    assert isinstance(reply["buttons"], list)
    return reply


async def say(ws: Socket, text: str, **fields: Any) -> dict[str, Any]:
    await ws.send_json({"type": "message", "text": text, **fields})
    return await answer(ws)


async def press(ws: Socket, payload: str, **fields: Any) -> dict[str, Any]:
    await ws.send_json({"type": "button", "payload": payload, **fields})
    return await answer(ws)


async def expect_error(ws: Socket, code: str) -> dict[str, Any]:
    error = await receive(ws)
    assert error["type"] == "error", error
    assert set(error) == {"type", "code", "message"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"].strip()
    return error


def assert_greeting(reply: dict[str, Any]) -> None:
    assert reply["text"].startswith(PT_GREETINGS), reply["text"]
    assert [button["payload"] for button in reply["buttons"]] == MENU_PAYLOADS


async def assert_still_works(ws: Socket) -> None:
    assert not ws.closed
    assert_greeting(await say(ws, "oi"))


def token_for(conversation_id: str, secret: str = SECRET, age_seconds: int = 0) -> str:
    """A widget token as the server would sign it, ``age_seconds`` old."""

    class AgedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    return URLSafeTimedSerializer(secret, salt=SALT, signer=AgedSigner).dumps(
        {"c": conversation_id}
    )


# --- conversation ------------------------------------------------------------------------------


async def test_hello_greeting_and_help(
    aiohttp_client: Any, backend_settings: SettingsFactory
) -> None:
    client = await widget_client(aiohttp_client, backend_settings())
    ws, _ = await connect(client)

    greeting = await say(ws, "oi")
    assert_greeting(greeting)
    assert "Pousada do Mar" in greeting["text"]
    assert all(button["title"].strip() for button in greeting["buttons"])

    help_reply = await press(ws, "intent:help")
    assert HELP_TEXT["pt_BR"] in help_reply["text"]
    assert [button["payload"] for button in help_reply["buttons"]] == MENU_PAYLOADS
    await ws.close()


async def test_new_connections_get_distinct_conversations(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await widget_client(aiohttp_client, make_settings())

    _, first = await connect(client)
    _, second = await connect(client)

    assert first["conversation_id"] != second["conversation_id"]
    assert first["token"] != second["token"]


async def test_widget_replies_are_html_escaped(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    """The web channel renders with autoescaping: a brand with markup must not become markup."""
    client = await widget_client(aiohttp_client, make_settings(brand="<b>Mar & Sol</b>"))
    ws, _ = await connect(client)

    reply = await say(ws, "oi")

    assert "&lt;b&gt;Mar &amp; Sol&lt;/b&gt;" in reply["text"]
    assert "<b>" not in reply["text"]


async def test_english_hello_locale(aiohttp_client: Any, make_settings: SettingsFactory) -> None:
    client = await widget_client(aiohttp_client, make_settings())
    ws, _ = await connect(client, locale="en-US")

    reply = await say(ws, "hello")

    assert reply["text"].startswith(("Hello!", "Hi, welcome"))
    assert reply["buttons"][0]["title"] == "Book a stay"


async def test_unknown_locale_in_hello_replies_in_portuguese(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await widget_client(aiohttp_client, make_settings())
    ws, _ = await connect(client, locale="xx-YY")

    assert_greeting(await say(ws, "oi"))
    assert HELP_TEXT["pt_BR"] in (await press(ws, "intent:help"))["text"]


# --- resuming with the token -------------------------------------------------------------------


async def test_token_resumes_conversation_and_session(
    aiohttp_client: Any, backend_settings: SettingsFactory
) -> None:
    client = await widget_client(aiohttp_client, backend_settings())
    first_ws, first = await connect(client, locale="en")
    first_greeting = await say(first_ws, "hello")
    await first_ws.close()

    second_ws, second = await connect(client, token=first["token"])

    assert second["conversation_id"] == first["conversation_id"]
    # no locale in this hello and no text yet: English can only come from the stored session
    assert HELP_TEXT["en"] in (await press(second_ws, "intent:help"))["text"]
    second_greeting = await say(second_ws, "hello")
    assert second_greeting["text"] == first_greeting["text"]
    # the token of the second session resumes the same conversation again
    _, third = await connect(client, token=second["token"])
    assert third["conversation_id"] == first["conversation_id"]


async def test_token_signed_by_the_server_secret_is_accepted(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    """Control for the invalid-token tests below: our own signature, an hour old, is fine."""
    client = await widget_client(aiohttp_client, make_settings())
    conversation_id = uuid.uuid4().hex
    ws = await client.ws_connect("/ws")

    session = await hello(ws, token=token_for(conversation_id, age_seconds=3600))

    assert session["conversation_id"] == conversation_id
    await assert_still_works(ws)


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda conversation_id: "not-a-token", id="forged"),
        pytest.param(lambda conversation_id: token_for(conversation_id)[:-2] + "xx", id="tampered"),
        pytest.param(
            lambda conversation_id: token_for(conversation_id, secret="another-secret"),
            id="other-secret",
        ),
        pytest.param(
            lambda conversation_id: URLSafeTimedSerializer(SECRET, salt="other-salt").dumps(
                {"c": conversation_id}
            ),
            id="other-salt",
        ),
        pytest.param(
            lambda conversation_id: token_for(conversation_id, age_seconds=3600), id="expired"
        ),
        pytest.param(
            lambda conversation_id: URLSafeTimedSerializer(SECRET, salt=SALT).dumps(
                {"conversation": conversation_id}
            ),
            id="signed-without-claim",
        ),
        pytest.param(lambda conversation_id: 12345, id="number"),
        pytest.param(lambda conversation_id: ["x"], id="list"),
        pytest.param(lambda conversation_id: "", id="empty"),
    ],
)
async def test_invalid_token_starts_a_new_conversation(
    aiohttp_client: Any, make_settings: SettingsFactory, make_token: Callable[[str], Any]
) -> None:
    client = await widget_client(aiohttp_client, make_settings(widget_token_max_age_seconds=60))
    conversation_id = uuid.uuid4().hex
    ws = await client.ws_connect("/ws")

    await ws.send_json({"type": "hello", "token": make_token(conversation_id)})

    await expect_error(ws, "invalid_token")
    session = await receive(ws)
    assert session["type"] == "session"
    assert session["conversation_id"] != conversation_id
    await assert_still_works(ws)
    # the new session's token works
    _, resumed = await connect(client, token=session["token"])
    assert resumed["conversation_id"] == session["conversation_id"]


async def test_invalid_token_error_follows_hello_locale(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await widget_client(aiohttp_client, make_settings())
    ws = await client.ws_connect("/ws")

    await ws.send_json({"type": "hello", "token": "forged", "locale": "en"})

    error = await expect_error(ws, "invalid_token")
    assert error["message"] == (
        "Your previous conversation could not be resumed, so a new one was started."
    )
    assert (await receive(ws))["type"] == "session"


# --- bad frames --------------------------------------------------------------------------------

BAD_FRAMES: list[Any] = [
    pytest.param("{nope", "invalid_json", id="invalid-json"),
    pytest.param("", "invalid_json", id="empty-frame"),
    pytest.param("[1, 2]", "invalid_frame", id="json-list"),
    pytest.param('"oi"', "invalid_frame", id="json-string"),
    pytest.param("null", "invalid_frame", id="json-null"),
    pytest.param({}, "invalid_frame", id="no-type"),
    pytest.param({"type": "ping"}, "invalid_frame", id="unknown-type"),
    pytest.param({"type": 1, "text": "oi"}, "invalid_frame", id="type-number"),
    pytest.param({"type": "message", "text": ""}, "empty_message", id="text-empty"),
    pytest.param({"type": "message", "text": " \n\t "}, "empty_message", id="text-blank"),
    pytest.param({"type": "message", "text": "a" * 100_000}, "message_too_long", id="text-100kB"),
    pytest.param({"type": "message", "text": 7}, "invalid_request", id="text-number"),
    pytest.param({"type": "message", "text": ["oi"]}, "invalid_request", id="text-list"),
    pytest.param({"type": "message"}, "invalid_request", id="text-missing"),
    pytest.param({"type": "message", "text": "oi", "id": 5}, "invalid_request", id="id-number"),
    pytest.param({"type": "button", "payload": 5}, "invalid_request", id="payload-number"),
    pytest.param({"type": "button", "payload": "x" * 300}, "message_too_long", id="payload-long"),
    pytest.param('{"type": "message", "text": "oi \\ud800"}', "invalid_text", id="lone-surrogate"),
    pytest.param('{"type": "button", "payload":"\\udfff"}', "invalid_text", id="lone-in-button"),
    pytest.param('{"type": "message", "text": "oi", "x": NaN}', "invalid_json", id="nan"),
    pytest.param("[" * 100_000, "invalid_json", id="deep-nesting"),
    pytest.param(b"\xff\xfe{not utf-8", "invalid_utf8", id="binary-invalid-utf8"),
    pytest.param(b'{"type": "message", "text": "ol\xe1"}', "invalid_utf8", id="binary-latin1"),
]


@pytest.mark.parametrize(("frame", "code"), BAD_FRAMES)
async def test_bad_frame_is_an_error_and_the_socket_keeps_working(
    aiohttp_client: Any, make_settings: SettingsFactory, frame: Any, code: str
) -> None:
    client = await widget_client(aiohttp_client, make_settings())
    ws, _ = await connect(client)

    if isinstance(frame, bytes):
        await ws.send_bytes(frame)
    elif isinstance(frame, str):
        await ws.send_str(frame)
    else:
        await ws.send_json(frame)

    await expect_error(ws, code)
    await assert_still_works(ws)


async def test_message_before_hello_is_refused(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await widget_client(aiohttp_client, make_settings())
    ws = await client.ws_connect("/ws")

    await ws.send_json({"type": "message", "text": "oi"})
    await expect_error(ws, "no_session")
    await ws.send_json({"type": "button", "payload": "intent:help"})
    await expect_error(ws, "no_session")

    await hello(ws)
    await assert_still_works(ws)


async def test_error_messages_follow_hello_locale(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await widget_client(aiohttp_client, make_settings())
    ws, _ = await connect(client, locale="en")

    await ws.send_json({"type": "message", "text": "  "})
    error = await expect_error(ws, "empty_message")
    assert error["message"] == "The message is empty."
    await ws.send_json({"type": "pong"})
    error = await expect_error(ws, "invalid_frame")
    assert error["message"] == "Unknown frame: send hello, message or button."


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (None, "A mensagem está vazia."),
        ("pt-BR", "A mensagem está vazia."),
        ("es", "El mensaje está vacío."),
    ],
)
async def test_error_messages_are_translated(
    aiohttp_client: Any, make_settings: SettingsFactory, locale: str | None, expected: str
) -> None:
    client = await widget_client(aiohttp_client, make_settings())
    ws, _ = await connect(client, **({} if locale is None else {"locale": locale}))

    await ws.send_json({"type": "message", "text": "  "})

    error = await expect_error(ws, "empty_message")
    assert error["message"] == expected


async def test_binary_frame_with_valid_json_is_handled_as_text(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await widget_client(aiohttp_client, make_settings())
    ws = await client.ws_connect("/ws")

    await ws.send_bytes(json.dumps({"type": "hello"}).encode())
    session = await receive(ws)
    assert session["type"] == "session"
    await ws.send_bytes(json.dumps({"type": "message", "text": "olá"}, ensure_ascii=False).encode())
    assert_greeting(await answer(ws))


async def test_many_errors_in_a_row_do_not_close_the_socket(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await widget_client(aiohttp_client, make_settings())
    ws, _ = await connect(client)

    for _ in range(20):
        await ws.send_str("{")
        await expect_error(ws, "invalid_json")
        await ws.send_bytes(b"\xff")
        await expect_error(ws, "invalid_utf8")

    await assert_still_works(ws)


async def test_frame_over_one_mebibyte_closes_with_1009_and_token_resumes(
    aiohttp_client: Any, backend_settings: SettingsFactory
) -> None:
    client = await widget_client(aiohttp_client, backend_settings())
    ws, session = await connect(client)

    await ws.send_str(json.dumps({"type": "message", "text": "a" * (MIB + 1)}))

    closing = await ws.receive(timeout=TIMEOUT)
    assert closing.type == WSMsgType.CLOSE
    assert closing.data == WSCloseCode.MESSAGE_TOO_BIG == 1009
    assert ws.close_code == 1009
    reconnected, resumed = await connect(client, token=session["token"])
    assert resumed["conversation_id"] == session["conversation_id"]
    await assert_still_works(reconnected)


# --- origin check ------------------------------------------------------------------------------


async def test_configured_origin_allowed_and_foreign_origin_refused(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    settings = make_settings(allowed_origins=["https://pousada.example"])
    client = await widget_client(aiohttp_client, settings)

    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    plain = await client.get("/ws", headers={"Origin": "https://evil.example"})
    assert plain.status == 403
    body = await plain.json()
    assert body["error"]["code"] == "origin_not_allowed"
    # no hello, so no locale yet: the default pt_BR
    assert body["error"]["message"] == "Este site não tem permissão para abrir o chat."

    ws = await client.ws_connect("/ws", headers={"Origin": "https://pousada.example"})
    await hello(ws)
    await assert_still_works(ws)
    own = await client.ws_connect("/ws", headers={"Origin": f"http://{client.host}:{client.port}"})
    await hello(own)
    await assert_still_works(own)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://pousada.example.evil.example",
        "http://pousada.example",
        "https://pousada.example:8443",
        "null",
    ],
)
async def test_near_miss_origins_are_refused(
    aiohttp_client: Any, make_settings: SettingsFactory, origin: str
) -> None:
    settings = make_settings(allowed_origins=["https://pousada.example/"])
    client = await widget_client(aiohttp_client, settings)

    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers={"Origin": origin})

    assert refused.value.status == 403


async def test_without_configured_origins_only_same_origin_is_allowed(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await widget_client(aiohttp_client, make_settings())
    same_origin = f"http://{client.host}:{client.port}"

    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    with pytest.raises(WSServerHandshakeError) as other_port:
        await client.ws_connect("/ws", headers={"Origin": f"http://{client.host}:1"})
    assert other_port.value.status == 403

    ws = await client.ws_connect("/ws", headers={"Origin": same_origin})
    await hello(ws)
    await assert_still_works(ws)


# --- dedupe ------------------------------------------------------------------------------------


async def test_same_message_id_gets_no_reply_and_typing_ends(
    aiohttp_client: Any, backend_settings: SettingsFactory
) -> None:
    client = await widget_client(aiohttp_client, backend_settings())
    ws, _ = await connect(client)
    message_id = f"m-{uuid.uuid4().hex}"

    assert_greeting(await say(ws, "oi", id=message_id))
    await ws.send_json({"type": "message", "text": "oi", "id": message_id})
    await ws.send_json({"type": "button", "payload": "intent:help", "id": f"{message_id}-2"})

    # The duplicate gets typing, then the end of typing and nothing else: the very next frames
    # belong to the following message.
    assert await receive(ws) == {"type": "typing"}
    assert await receive(ws) == {"type": "typing", "active": False}
    assert await receive(ws) == {"type": "typing"}
    reply = await receive(ws)
    assert reply["type"] == "message"
    assert HELP_TEXT["pt_BR"] in reply["text"]


async def test_same_message_id_on_another_connection_is_not_a_duplicate(
    aiohttp_client: Any, backend_settings: SettingsFactory
) -> None:
    """Client-chosen ids are unique per conversation only: another visitor's "1" is answered."""
    client = await widget_client(aiohttp_client, backend_settings())
    first, _ = await connect(client)
    second, _ = await connect(client)

    assert_greeting(await say(first, "oi", id="1"))
    await second.send_json({"type": "message", "text": "oi", "id": "1"})
    await second.send_json({"type": "button", "payload": "intent:help", "id": uuid.uuid4().hex})

    # expected: typing + greeting, then typing + help (fails fast instead of waiting on a timeout)
    assert await receive(second) == {"type": "typing"}
    greeting = await receive(second)
    assert greeting["type"] == "message", "the other visitor's message was dropped as a duplicate"
    assert_greeting(greeting)


async def test_shutdown_closes_open_widgets_as_going_away(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await widget_client(aiohttp_client, make_settings())
    ws, _ = await connect(client)
    started = time.monotonic()
    stopping = asyncio.create_task(client.server.close())
    closing = await ws.receive(timeout=5)
    assert closing.type == WSMsgType.CLOSE
    assert ws.close_code == WSCloseCode.GOING_AWAY
    await asyncio.wait_for(stopping, 5)
    assert time.monotonic() - started < 5


WELCOME = {
    "pt-BR": "Olá! Sou o assistente virtual da Pousada do Mar",
    "en": "Hello! I'm the virtual assistant of Pousada do Mar",
    "es": "¡Hola! Soy el asistente virtual de Pousada do Mar",
}


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_a_new_conversation_asking_for_the_welcome_is_greeted_once(
    aiohttp_client: Any, make_settings: SettingsFactory, locale: str
) -> None:
    client = await widget_client(aiohttp_client, make_settings())
    ws, session = await connect(client, locale=locale, welcome="pousada-do-mar")
    greeting = await receive(ws)
    assert greeting["type"] == "message"
    assert greeting["text"].startswith(WELCOME[locale])
    assert len(greeting["buttons"]) == 4
    await ws.close()
    again, _ = await connect(client, token=session["token"], welcome="pousada-do-mar")
    # a resumed conversation: the next frame is the answer to the guest, not a second greeting
    assert (await say(again, "obrigado"))["text"]


@pytest.mark.parametrize("welcome", [5, "", "../etc", "x" * 200, None, False, ["pousada"]])
async def test_a_malformed_welcome_is_ignored(
    aiohttp_client: Any, make_settings: SettingsFactory, welcome: Any
) -> None:
    client = await widget_client(aiohttp_client, make_settings())
    ws, _ = await connect(client, welcome=welcome)
    reply = await say(ws, "oi")  # the first frame after the session answers the guest
    assert reply["text"].startswith(PT_GREETINGS)
