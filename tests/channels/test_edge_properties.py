"""Every parser at the edge, fed arbitrary input: it never raises out of the handler, never
answers 5xx, stores nothing it refused, and the conversation still answers afterwards.

Provider bodies are signed with the test secrets, so what is fuzzed is the parser behind the
signature, not the signature check. The examples are fixed (the ``ci`` profile in
``tests/conftest.py``), so a failure found once is found on every run.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.text import clean, has_control, one_line, scalar, visible
from bot.core.types import Message
from bot.edge.json_body import MalformedJson, json_object
from bot.root.app import PROVIDER_CHANNELS, build_runtime, create_app, runtime_lifespan
from bot.root.secret import webhook_secret
from bot.root.settings import Settings
from channels.slack.channel import EVENTS_PATH
from channels.telegram.registration import WEBHOOK_PATH
from channels.whatsapp.webhook import sign
from intents.dates import stay_dates
from intents.understanding import ModelUnderstanding
from tests.fakes import slack as slack_fakes
from tests.fakes import whatsapp as meta
from tests.fakes.slack import FakeSlack, signed
from tests.fakes.telegram import TOKEN, FakeTelegram, button_update, text_update
from tests.fakes.whatsapp import FakeGraph
from tests.support.clock import REFERENCE_DAY
from tests.support.payments_shop import Shop, ShopOpener

SettingsFactory = Callable[..., Settings]
HTTP = settings(max_examples=20)

# -- what an attacker sends ----------------------------------------------------------------------

odd_characters = st.characters(categories=["Cs", "Cc", "Cf", "Zs", "Mn", "Nd", "So"])
texts = st.one_of(
    st.text(max_size=60),
    st.text(odd_characters, max_size=20),
    st.sampled_from(["oi", "\x00", "\ud800", "\u202eevil", "NaN", "intent:book|x=1", "~abc"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def shaped(*keys: str) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the keys a parser looks for, holding anything."""
    return st.fixed_dictionaries({}, optional={key: json_values for key in keys})


def as_json(value: Any) -> str:
    return json.dumps(value)  # lone surrogates travel as \\ud800 escapes, as an attacker sends


raw_bodies = st.one_of(
    st.binary(max_size=80),
    st.sampled_from([b"", b"[", b"[" * 5000, b'{"a": NaN}', b"\xff\xfe", b"1e999999"]),
)


async def answers(client: TestClient, user: str = "after-fuzz") -> None:
    response = await client.post("/api/v1/messages", json={"user_id": user, "text": "oi"})
    assert response.status == 200, await response.text()
    assert (await response.json())["replies"]


# -- REST and the widget -----------------------------------------------------------------------


@pytest.fixture
async def web_client(aiohttp_client: Any, make_settings: SettingsFactory) -> TestClient:
    return await aiohttp_client(create_app(make_settings()))


@HTTP
@given(
    body=st.one_of(
        raw_bodies.map(lambda raw: raw),
        json_values.map(lambda value: as_json(value).encode()),
        shaped("user_id", "text", "payload", "locale", "message_id").map(
            lambda value: as_json(value).encode()
        ),
    )
)
async def test_rest_bodies(web_client: TestClient, body: bytes) -> None:
    response = await web_client.post("/api/v1/messages", data=body)
    assert response.status in (200, 400, 413), await response.text()
    document = await response.json()
    assert "replies" in document or set(document["error"]) == {"code", "message"}
    await answers(web_client)


@HTTP
@given(
    frame=st.one_of(
        json_values.map(as_json),
        shaped("type", "text", "payload", "id", "token", "locale").map(as_json),
        st.fixed_dictionaries(
            {"type": st.sampled_from(["hello", "message", "button"])},
            optional={
                "text": json_values,
                "payload": json_values,
                "token": json_values,
                "locale": json_values,
                "id": json_values,
            },
        ).map(as_json),
        st.text(max_size=40),
        raw_bodies,
    )
)
async def test_widget_frames(web_client: TestClient, frame: str | bytes) -> None:
    ws = await web_client.ws_connect("/ws")
    await ws.send_json({"type": "hello"})
    session = await ws.receive_json(timeout=10)
    await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
    # Our own token resumes our conversation: its session frame comes after whatever the
    # fuzzed frame caused (frames are handled in order), and no fuzzed hello can name it.
    await ws.send_json({"type": "hello", "token": session["token"]})
    while True:
        received = await ws.receive(timeout=10)
        assert received.type == WSMsgType.TEXT, (received.type, ws.close_code)
        document = json.loads(received.data)
        assert document["type"] in ("error", "typing", "message", "session")
        if document.get("conversation_id") == session["conversation_id"]:
            break
    await ws.send_json({"type": "message", "text": "oi"})
    assert (await ws.receive_json(timeout=10))["type"] == "typing"
    assert (await ws.receive_json(timeout=10))["type"] == "message"
    await ws.close()


# -- payments: each gateway's body behind a valid signature ------------------------------------


@pytest.fixture
async def shop(open_shop: ShopOpener) -> Shop:
    return await open_shop("sqlite")


async def refused_or_stored(shop: Shop, gateway: str, body: bytes, headers: dict[str, str]) -> None:
    before = await shop.events()
    status = await shop.webhook(gateway, body, headers)
    assert status in (200, 400), (status, body)
    if status == 400:
        assert await shop.events() == before


def event_shaped(kinds: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"type": st.sampled_from(kinds) | json_values},
        optional={
            "id": json_values,
            "data": json_values | shaped("object", "id"),
            "event_type": st.sampled_from(kinds) | json_values,
            "resource": json_values | shaped("id", "supplementary_data"),
            "action": json_values,
        },
    )


STRIPE_KINDS = ["checkout.session.completed", "checkout.session.expired", "customer.created"]
PAYPAL_KINDS = ["CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED", "X"]


@HTTP
@given(document=json_values | event_shaped(STRIPE_KINDS))
async def test_stripe_webhook_bodies(shop: Shop, document: Any) -> None:
    body = as_json(document).encode()
    await refused_or_stored(shop, "stripe", body, {"Stripe-Signature": shop.stripe.sign(body)})


@HTTP
@given(
    document=json_values | event_shaped(["payment", "merchant_order"]),
    data_id=st.from_regex(r"\A[0-9]{1,12}\Z") | st.text(max_size=30),
    stamp=st.none()
    | st.from_regex(r"\A[0-9]{1,30}\Z")
    | st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=12),
    request_id=st.sampled_from(["req-1", "", "ação", "a,b=c"]),
)
async def test_mercadopago_webhook_bodies(
    shop: Shop, document: Any, data_id: str, stamp: str | None, request_id: str
) -> None:
    body = as_json(document).encode()
    headers = shop.mp.sign(body, request_id=request_id, ts=stamp, data_id=data_id)
    await refused_or_stored(shop, "mercadopago", body, headers)


@settings(max_examples=15)
@given(document=json_values | event_shaped(PAYPAL_KINDS))
async def test_paypal_webhook_bodies(shop: Shop, document: Any) -> None:
    body = as_json(document).encode()
    await refused_or_stored(shop, "paypal", body, shop.paypal.sign(body))


# -- Telegram and Slack ------------------------------------------------------------------------


@dataclass
class Providers:
    client: TestClient
    telegram: FakeTelegram
    slack: FakeSlack
    telegram_secret: str
    app: Any
    graph: FakeGraph

    async def settle(self) -> None:
        for channel in self.app[PROVIDER_CHANNELS].values():
            await channel.drain()


@pytest.fixture
async def providers(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> AsyncIterator[Providers]:
    telegram, slack, graph = FakeTelegram(), FakeSlack(), FakeGraph()
    servers = [TestServer(telegram.app()), TestServer(slack.app()), TestServer(graph.app())]
    for server in servers:
        await server.start_server()
    slack.base = str(servers[1].make_url("")).rstrip("/")
    graph.base_url = str(servers[2].make_url("")).rstrip("/")
    settings_ = make_settings(
        telegram={
            "token": TOKEN,
            "api_url": str(servers[0].make_url("")).rstrip("/"),
            "chat_interval_seconds": 0.0,
        },
        slack={
            "bot_token": slack_fakes.TOKEN,
            "signing_secret": slack_fakes.SIGNING_SECRET,
            "api_url": str(servers[1].make_url("/api/")),
            "channel_interval_seconds": 0.0,
        },
        whatsapp={
            "access_token": meta.ACCESS_TOKEN,
            "phone_number_id": meta.PHONE_NUMBER_ID,
            "app_secret": meta.APP_SECRET,
            "verify_token": meta.VERIFY_TOKEN,
            "api_url": f"{graph.base_url}/{meta.VERSION}",
        },
    )
    app = create_app(settings_)
    client = await aiohttp_client(app)
    secret = webhook_secret(settings_, "telegram")
    yield Providers(client, telegram, slack, secret, app, graph)
    for server in servers:
        await server.close()


def telegram_updates() -> st.SearchStrategy[Any]:
    text_updates = st.builds(lambda chat, text: text_update(chat, text), st.integers(1, 50), texts)
    presses = st.builds(lambda chat, data: button_update(chat, data), st.integers(1, 50), texts)
    return st.one_of(
        json_values.map(as_json),
        raw_bodies,
        st.one_of(shaped("update_id", "message", "callback_query"), text_updates, presses).map(
            as_json
        ),
    )


@HTTP
@given(update=telegram_updates())
async def test_telegram_webhook_bodies(providers: Providers, update: str | bytes) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": providers.telegram_secret}
    response = await providers.client.post(WEBHOOK_PATH, data=update, headers=headers)
    assert response.status in (200, 400)
    await providers.settle()
    before = len(providers.telegram.sent(chat_id="999"))
    response = await providers.client.post(
        WEBHOOK_PATH, json=text_update(999, "oi"), headers=headers
    )
    assert response.status == 200
    await providers.settle()
    assert len(providers.telegram.sent(chat_id="999")) > before


def slack_bodies() -> st.SearchStrategy[tuple[str, str]]:
    events = st.builds(
        lambda text, kind: slack_fakes.event(kind, "CGUEST01", "UGUEST01", text, channel_type="im"),
        texts,
        st.sampled_from(["message", "app_mention", "reaction_added"]),
    )
    as_form = st.builds(
        lambda value: urlencode({"payload": value if isinstance(value, str) else as_json(value)}),
        json_values | shaped("type", "actions", "user", "channel"),
    )
    return st.one_of(
        (json_values | events | shaped("type", "event", "event_id", "challenge")).map(
            lambda value: (as_json(value), "application/json")
        ),
        as_form.map(lambda body: (body, "application/x-www-form-urlencoded")),
        st.builds(
            lambda value: (
                slack_fakes.button("CGUEST01", "UGUEST01", value),
                "application/x-www-form-urlencoded",
            ),
            texts,
        ),
    )


@HTTP
@given(body_and_type=slack_bodies())
async def test_slack_event_bodies(providers: Providers, body_and_type: tuple[str, str]) -> None:
    body, content_type = body_and_type
    headers = {"Content-Type": content_type, **signed(body)}
    response = await providers.client.post(EVENTS_PATH, data=body.encode(), headers=headers)
    assert response.status < 500, body
    await providers.settle()
    before = len(providers.slack.sent(channel="CAFTER01"))
    after = as_json(slack_fakes.event("message", "CAFTER01", "UGUEST01", "oi", channel_type="im"))
    response = await providers.client.post(
        EVENTS_PATH, data=after, headers={"Content-Type": "application/json", **signed(after)}
    )
    assert response.status == 200
    await providers.settle()
    assert len(providers.slack.sent(channel="CAFTER01")) > before


# -- the engine's own parsers: button payloads, the NLU, the date grammar ----------------------


@pytest.fixture
async def engine_runtime(make_settings: SettingsFactory) -> AsyncIterator[Any]:
    async with runtime_lifespan(build_runtime(make_settings()), upkeep=False) as runtime:
        yield runtime


@settings(max_examples=40)
@given(
    payload=texts | st.from_regex(r"\A(intent|value|~)[:|=a-z_~0-9]{0,30}\Z"),
    channel=st.sampled_from(["web", "rest", "telegram", "slack", "discord"]),
)
async def test_button_payloads(engine_runtime: Any, payload: str, channel: str) -> None:
    engine = engine_runtime.engine
    pressed = await engine.handle(Message(channel, "fuzz", "fuzz", payload=payload))
    assert pressed.status in ("handled", "rate_limited"), pressed
    answered = await engine.handle(Message(channel, "fuzz", "fuzz", text="oi"))
    assert answered.status == "handled"
    assert answered.replies


@settings(max_examples=60)
@given(text=texts, locale=st.sampled_from(["pt_BR", "en", "es"]))
async def test_the_nlu_reads_any_text(
    understanding: ModelUnderstanding, text: str, locale: str
) -> None:
    parsed = await understanding.parse(text, locale)
    assert 0.0 <= parsed.confidence <= 1.0
    assert parsed.locale in ("pt_BR", "en", "es")


@settings(max_examples=150)
@given(
    text=texts
    | st.from_regex(r"\A[0-9 /.\-dea]{0,30}\Z")
    | st.sampled_from(
        ["de 31/02 a 35/13", "29/2 a 1/3 de 99999", "from 9999999999 to 1", "dia 0 a dia 00"]
    ),
    locale=st.sampled_from(["pt_BR", "en", "es"]),
)
def test_the_date_grammar_reads_any_text(text: str, locale: str) -> None:
    dates = stay_dates(text, locale, REFERENCE_DAY)
    if dates.check_in is not None and dates.check_out is not None:
        assert dates.check_in < dates.check_out


# -- the pure rules underneath -----------------------------------------------------------------


@settings(max_examples=200)
@given(raw=raw_bodies | json_values.map(lambda value: as_json(value).encode()))
def test_the_json_edge_parser_returns_an_object_or_refuses(raw: bytes) -> None:
    refusal = None
    try:
        document = json_object(raw)
    except MalformedJson as refused:
        refusal = refused.code
    if refusal is not None:
        assert refusal in ("invalid_utf8", "invalid_json", "invalid_text", "invalid_request")
        return
    assert isinstance(document, dict)
    json.dumps(document, ensure_ascii=False).encode()  # every string encodes: Redis, logs, SQL


@settings(max_examples=200)
@given(text=texts)
def test_text_as_kept_and_as_staff_read_it(text: str) -> None:
    kept = visible(scalar(text))
    kept.encode()
    assert unicodedata.is_normalized("NFC", kept)
    assert "\u202e" not in kept
    shown = clean(scalar(text))
    assert not has_control(shown)
    name = one_line(scalar(text))
    assert "\u200d" not in name
    assert name == name.strip()


def whatsapp_bodies() -> st.SearchStrategy[str | bytes]:
    sender = st.sampled_from(["5511900000001", "34600000001", "", "x"])
    guest_messages = st.builds(
        lambda number, kind, content: meta.message(number, kind, content),
        sender,
        st.sampled_from(["text", "interactive", "button", "location", "image", "audio", "x"]),
        json_values | shaped("body", "type", "button_reply", "list_reply", "id", "latitude"),
    )
    notifications = st.builds(
        lambda messages, statuses: meta.notification(messages, statuses),
        st.lists(guest_messages | shaped("id", "from", "type", "text"), max_size=3),
        st.lists(shaped("id", "status", "recipient_id", "errors"), max_size=3),
    )
    return st.one_of(
        json_values.map(as_json),
        raw_bodies,
        (notifications | shaped("object", "entry")).map(as_json),
    )


@HTTP
@given(body=whatsapp_bodies())
async def test_whatsapp_webhook_bodies(providers: Providers, body: str | bytes) -> None:
    raw = body.encode() if isinstance(body, str) else body
    headers = {"X-Hub-Signature-256": sign(raw, meta.APP_SECRET.encode())}
    response = await providers.client.post("/whatsapp/webhook", data=raw, headers=headers)
    assert response.status in (200, 400)
    await providers.settle()
    before = len(providers.graph.sent("5511999999999"))
    after, signature = meta.signed_body(meta.notification([meta.text("5511999999999", "oi")]))
    response = await providers.client.post("/whatsapp/webhook", data=after, headers=signature)
    assert response.status == 200
    await providers.settle()
    assert len(providers.graph.sent("5511999999999")) > before
