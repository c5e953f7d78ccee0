"""What an attacker sends at the edge: correctly signed bodies of the wrong shape, header bytes
that are not ASCII, lone surrogates and control characters. Each is refused with a 4xx or a
clear message, nothing is stored, and the conversation goes on."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from actions.booking.reservations import Reservations
from bot.core.types import Message
from bot.root.app import build_runtime, create_app, runtime_lifespan
from bot.root.settings import Settings
from tests.support.payments_shop import ADMIN_KEY, Chat, Shop, ShopOpener, paid_with
from tests.support.raw_http import raw_post
from tests.support.services import REDIS_URL
from tests.support.stays import in_portuguese, off_season_stay

SettingsFactory = Callable[..., Settings]


ON_POSTGRESQL = pytest.mark.parametrize("shop_database", ["postgresql"])
"""The ``shop`` on PostgreSQL only: it refuses a NUL byte in text, where SQLite stores it."""


@pytest.fixture
async def sqlite_shop(open_shop: ShopOpener) -> Shop:
    return await open_shop("sqlite")


NOT_EVENTS = [
    b"[1,2]",
    b'"event"',
    b"null",
    b'{"id": "evt_1", "type": "checkout.session.completed"}',
    b'{"id": "evt_1", "type": "checkout.session.completed", "data": []}',
    b'{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": "cs_1"}}',
    b'{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {"id": 7}}}',
    b'{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {}}}',
    b'{"id": ["evt_1"], "type": "checkout.session.completed", "data": {"object": {"id": "x"}}}',
    b'{"id": "evt_1", "type": 5, "data": {"object": {"id": "cs_1"}}}',
    b'{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {"id": "\\ud800"}}}',
    b'{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {"id": NaN}}}',
]


async def test_a_signed_stripe_body_that_is_not_an_event_is_400_and_stores_nothing(
    sqlite_shop: Shop,
) -> None:
    shop = sqlite_shop
    for body in NOT_EVENTS:
        signed = {"Stripe-Signature": shop.stripe.sign(body)}
        assert await shop.webhook("stripe", body, signed) == 400, body
    assert await shop.webhook("stripe", b"{}", {"Stripe-Signature": "t=1,v1=caf\u00e9"}) == 400
    assert await shop.events() == 0


MP_NOT_NOTIFICATIONS = [
    (b"[1,2]", "123"),
    (b'{"type": "payment", "data": {"id": "123"}, "id": {"nested": 1}}', "123"),
    (b'{"type": "payment", "data": {"id": "\\u0661\\u0662"}}', "\u0661\u0662"),
    (b'{"type": ["payment"], "data": {"id": "123"}}', "123"),
    (b'{"type": "payment", "action": {"a": 1}, "data": {"id": "123"}}', "123"),
]


async def test_a_signed_mercadopago_body_or_header_of_the_wrong_shape_is_400(
    sqlite_shop: Shop,
) -> None:
    shop = sqlite_shop
    for body, data_id in MP_NOT_NOTIFICATIONS:
        signed = shop.mp.sign(body, data_id=data_id)
        assert await shop.webhook("mercadopago", body, signed) == 400, body
    body = shop.mp.notification("123")
    huge = "9" * 400
    assert await shop.webhook("mercadopago", body, shop.mp.sign(body, ts=huge)) == 400
    path = "/webhooks/payments/mercadopago"
    good = shop.mp.sign(body)
    for name, value in [
        (b"x-signature", b"ts=1,v1=caf\xc3\xa9"),
        (b"x-signature", b"v1=\xff"),
        (b"x-request-id", b"\xff\xfe"),
    ]:
        headers = [(key.encode(), item.encode()) for key, item in good.items() if key != name]
        assert await raw_post(shop.client, path, [*headers, (name, value)], body) == 400
    assert await shop.events() == 0


PAYPAL_NOT_EVENTS = [
    {"id": "WH-1", "event_type": "CHECKOUT.ORDER.APPROVED", "resource": [1]},
    {"id": "WH-1", "event_type": "CHECKOUT.ORDER.APPROVED", "resource": {"id": {"x": 1}}},
    {"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED",
     "resource": {"supplementary_data": 5}},
    {"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED",
     "resource": {"supplementary_data": {"related_ids": [1]}}},
    {"id": {"a": 1}, "event_type": "CHECKOUT.ORDER.APPROVED", "resource": {"id": "ORDER1"}},
    [1, 2],
]  # fmt: skip


async def test_a_signed_paypal_body_of_the_wrong_shape_is_400(sqlite_shop: Shop) -> None:
    shop = sqlite_shop
    for event in PAYPAL_NOT_EVENTS:
        body = json.dumps(event).encode()
        assert await shop.webhook("paypal", body, shop.paypal.sign(body)) == 400, event
    assert await shop.events() == 0


NOT_ASCII = [b"Bearer caf\xc3\xa9", b"Bearer \xff\xfe", b"Bearer \xed\xa0\x80", b"\xff k"]


@pytest.mark.parametrize("authorization", NOT_ASCII)
async def test_an_authorization_header_that_is_not_ascii_is_401(
    sqlite_shop: Shop, aiohttp_client: Any, make_settings: SettingsFactory, authorization: bytes
) -> None:
    admin = await raw_post(
        sqlite_shop.client, "/admin/refunds/1/approve", [(b"Authorization", authorization)]
    )
    assert admin == 401
    rest = await aiohttp_client(create_app(make_settings(api_keys=["k1"])))
    body = json.dumps({"user_id": "u1", "text": "oi"}).encode()
    assert (
        await raw_post(rest, "/api/v1/messages", [(b"Authorization", authorization)], body) == 401
    )
    allowed = [(b"Authorization", f"Bearer {ADMIN_KEY}".encode())]
    assert await raw_post(sqlite_shop.client, "/admin/refunds/999/approve", allowed) == 404


@pytest.mark.redis
async def test_lone_surrogates_in_a_rest_user_id_or_text_are_400_with_redis(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings(redis_url=REDIS_URL)))
    for document in (
        '{"user_id": "\\ud800", "text": "oi"}',
        '{"user_id": "u2", "text": "\\udfff"}',
        '{"user_id": "u2", "payload": "intent:help\\ud800"}',
    ):
        response = await client.post("/api/v1/messages", data=document)
        assert response.status == 400, await response.text()
        assert (await response.json())["error"]["code"] == "invalid_text"
    answered = await client.post("/api/v1/messages", json={"user_id": "u2", "text": "oi"})
    assert answered.status == 200


@pytest.mark.redis
async def test_the_apology_itself_cannot_fail(make_settings: SettingsFactory) -> None:
    """A message the edge should have refused still gets an answer: logging and rendering the
    apology must not fail on what made the turn fail."""
    async with runtime_lifespan(build_runtime(make_settings(redis_url=REDIS_URL))) as runtime:
        result = await runtime.engine.handle(Message("rest", "\ud800", "\ud800", text="oi"))
    assert result.status in ("failed", "handled")
    assert result.replies


@ON_POSTGRESQL
async def test_a_nul_in_the_guest_name_is_refused_and_the_booking_goes_on(shop: Shop) -> None:
    guest = Chat(shop.runtime, "nul-1")
    check_in, check_out = off_season_stay()
    stay = f"de {in_portuguese(check_in)} a {in_portuguese(check_out)}"
    await guest.says(f"quero reservar na Pousada do Mar {stay}, somos um casal")
    await guest.presses("Quarto Standard")
    refused = await guest.says("Maria\x00 Souza")
    assert "caracteres" in refused
    await guest.says("Ma\u200bria\u202e Sou\u0301za")
    await guest.says("maria@example.com")
    held = await guest.presses("Confirmar")
    assert "RSV-" in held
    reservations = await shop.runtime.services.get(Reservations).reservations_for("test", "nul-1")
    assert [r.guest_name for r in reservations] == ["Maria So\u00faza"]


async def test_a_refund_denial_body_that_is_not_an_object_or_too_deep_is_400(
    sqlite_shop: Shop,
) -> None:
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
    path = "/admin/refunds/1/deny"
    for body in (b"[" * 100_000, b'{"reason": "\\ud800"}', b"[1]", b'{"reason": "\\u0000\\u202e"}'):
        response = await sqlite_shop.client.post(path, data=body, headers=auth)
        assert response.status == 400, body


@ON_POSTGRESQL
async def test_a_refund_reason_with_control_characters_reaches_staff_clean(shop: Shop) -> None:
    guest, code = await paid_with(shop, "nul-2", "Cartão (Stripe)")
    await guest.says("quero um reembolso")
    await guest.presses(f"Pedir reembolso da {code}")
    sent = await guest.says("o ar-condicionado\x00 estava\u202e quebrado\x07")
    assert "já está com a nossa equipe" in sent
    [review] = await shop.staff_heard()
    assert "o ar-condicionado estava quebrado" in review.text
    assert "\x00" not in review.text
