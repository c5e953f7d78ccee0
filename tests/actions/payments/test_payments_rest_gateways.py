"""Mercado Pago and PayPal over aiohttp against local servers that answer like their APIs."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from actions.payments.gateway import GatewayError, Ignored, InvalidWebhook, LinkRequest, Notice
from actions.payments.mercadopago import MercadoPagoGateway
from actions.payments.metrics import PaymentMetrics
from actions.payments.paypal import PayPalGateway
from bot.core.clock import system_now
from bot.partners.client import PartnerClient
from tests.fakes.base import Fault
from tests.fakes.mercadopago import FakeMercadoPago
from tests.fakes.paypal import FakePayPal
from tests.support.partners import Workers, sample

PNG = b"\x89PNG\r\n\x1a\n"


def link_request(currency: str = "BRL", key: str = "pay-RSV-BBBBBB-x-1") -> LinkRequest:
    return LinkRequest(
        "RSV-BBBBBB",
        450_00,
        currency,
        "Pousada do Mar · RSV-BBBBBB",
        "guest@example.com",
        datetime.now(UTC) + timedelta(minutes=15),
        "http://127.0.0.1/payments/return/x/t",
        key,
    )


@pytest.fixture
async def mp_fake() -> AsyncIterator[FakeMercadoPago]:
    server = await FakeMercadoPago().start()
    yield server
    await server.close()


@pytest.fixture
async def workers() -> AsyncIterator[Workers]:
    """Workers whose partner clients wait out their retries on a clock the test owns."""
    built = Workers("memory")
    yield built
    await built.close()


@pytest.fixture
def partners(workers: Workers) -> PartnerClient:
    return workers.client(backoff_max_seconds=10.0)


@pytest.fixture
def mp(mp_fake: FakeMercadoPago, partners: PartnerClient) -> MercadoPagoGateway:
    return MercadoPagoGateway(
        "TEST-token",
        mp_fake.webhook_secret,
        PaymentMetrics(CollectorRegistry()),
        partners,
        api_base=mp_fake.url,
        timeout_seconds=0.5,
        now=system_now,
    )


@pytest.fixture
async def pp_fake() -> AsyncIterator[FakePayPal]:
    server = await FakePayPal().start()
    yield server
    await server.close()


@pytest.fixture
def paypal(pp_fake: FakePayPal, partners: PartnerClient) -> PayPalGateway:
    return PayPalGateway(
        "client",
        "secret",
        "WH-1",
        PaymentMetrics(CollectorRegistry()),
        partners,
        api_base=pp_fake.url,
        timeout_seconds=0.5,
        now=system_now,
    )


# -- Mercado Pago ----------------------------------------------------------------------------------


async def test_mercadopago_link_is_a_preference_with_a_pix_charge(
    mp: MercadoPagoGateway, mp_fake: FakeMercadoPago
) -> None:
    link = await mp.create_link(link_request())
    assert link.url.startswith("https://www.mercadopago.com.br/checkout/")
    preference = mp_fake.preferences[link.reference]
    assert preference["items"][0]["unit_price"] == 450.0
    assert preference["external_reference"] == "RSV-BBBBBB"
    assert preference["expires"] is True
    assert link.pix_code
    assert link.pix_code.startswith("000201")
    assert link.pix_qr_png
    assert link.pix_qr_png.startswith(PNG)
    keys = [h["X-Idempotency-Key"] for m, _, h in mp_fake.requests if m == "POST"]
    assert keys == ["pay-RSV-BBBBBB-x-1", "pay-RSV-BBBBBB-x-1-pix"]
    assert await mp.create_link(link_request()) == link  # the same keys: the same objects
    assert len(mp_fake.preferences) == 1


async def test_mercadopago_draws_the_qr_code_when_the_api_sends_none(
    mp: MercadoPagoGateway, mp_fake: FakeMercadoPago
) -> None:
    mp_fake.with_qr_image = False
    link = await mp.create_link(link_request())
    assert link.pix_qr_png
    assert link.pix_qr_png.startswith(PNG)
    assert (await mp.create_link(link_request("USD", "k-usd"))).pix_code is None


async def test_mercadopago_status_refunds_and_errors(
    mp: MercadoPagoGateway, mp_fake: FakeMercadoPago
) -> None:
    link = await mp.create_link(link_request())
    payment_id = mp_fake.pay(link.reference)
    status = await mp.status(payment_id)
    assert (status.state, status.amount, status.currency, status.reservation_code) == (
        "paid",
        45000,
        "BRL",
        "RSV-BBBBBB",
    )
    mp_fake.fail(
        Fault(500, path="/v1/payments"),
        Fault(429, path="/v1/payments", headers={"Retry-After": "0"}),
    )
    assert (await mp.refund(payment_id, 100_00, "BRL", "refund-1")).completed
    assert (await mp.status(payment_id)).refunded == 100_00
    with pytest.raises(GatewayError) as too_much:
        await mp.refund(payment_id, 400_00, "BRL", "refund-2")
    assert (too_much.value.status, too_much.value.code) == (400, "4010")
    with pytest.raises(GatewayError) as missing:
        await mp.status("999")
    assert (missing.value.status, missing.value.code) == (404, "2000")
    mp_fake.fail(*(Fault(delay=1.0, path="/v1/payments") for _ in range(3)))
    with pytest.raises(GatewayError) as timed_out:
        await mp.status(payment_id)
    assert timed_out.value.status is None
    mp_fake.fail(*(Fault(503, path="/v1/payments") for _ in range(3)))
    with pytest.raises(GatewayError) as down:
        await mp.status(payment_id)
    assert down.value.status == 503
    assert mp_fake.calls("GET", f"/v1/payments/{payment_id}") >= 8


async def test_mercadopago_webhooks_are_verified(
    mp: MercadoPagoGateway, mp_fake: FakeMercadoPago
) -> None:
    body = mp_fake.notification("1300000042", 777)
    assert await mp.verify(mp_fake.sign(body), body) == Notice(
        "777", "payment.updated", "1300000042"
    )
    with pytest.raises(InvalidWebhook, match="signature"):
        await mp.verify(mp_fake.sign(body, secret="other"), body)
    headers = mp_fake.sign(body)
    with pytest.raises(InvalidWebhook, match="signature"):
        await mp.verify({**headers, "x-request-id": "another"}, body)
    with pytest.raises(InvalidWebhook, match="stale"):
        await mp.verify(mp_fake.sign(body, ts=int(time.time() - 900) * 1000), body)
    with pytest.raises(InvalidWebhook, match="malformed"):
        await mp.verify(mp_fake.sign(body), b"{not json")
    merchant = json.dumps({"type": "merchant_order", "data": {"id": "5"}}).encode()
    assert isinstance(await mp.verify(mp_fake.sign(merchant), merchant), Ignored)


async def test_mercadopago_waits_for_its_retry_after_and_refunds_once(
    mp: MercadoPagoGateway, mp_fake: FakeMercadoPago, workers: Workers
) -> None:
    payment_id = mp_fake.pay((await mp.create_link(link_request())).reference)
    mp_fake.fail(Fault(429, path="/v1/payments", headers={"Retry-After": "4"}))
    assert (await mp.refund(payment_id, 100_00, "BRL", "refund-1")).completed
    assert workers.sleeps.delays == [4.0]
    assert mp_fake.calls("POST", f"/v1/payments/{payment_id}/refunds") == 2
    assert (await mp.status(payment_id)).refunded == 100_00
    registry = workers.registries[0]
    assert (
        sample(registry, "rsv_partner_api_calls_total", api="mercadopago", result="throttled") == 1
    )


# -- PayPal ----------------------------------------------------------------------------------------


async def test_paypal_order_capture_and_refund_with_one_token(
    paypal: PayPalGateway, pp_fake: FakePayPal
) -> None:
    link = await paypal.create_link(link_request("USD"))
    assert link.url.endswith(f"token={link.reference}")
    assert (await paypal.status(link.reference)).state == "pending"
    pp_fake.approve(link.reference)
    status = await paypal.status(link.reference)  # approved: captured now
    assert (status.state, status.amount, status.currency) == ("paid", 45000, "USD")
    assert status.charge_reference
    assert status.charge_reference.startswith("CAP")
    assert (await paypal.status(link.reference)).charge_reference == status.charge_reference
    refund = await paypal.refund(status.charge_reference, 50_00, "USD", "refund-1")
    assert refund.completed
    assert (await paypal.status(link.reference)).refunded == 50_00
    with pytest.raises(GatewayError) as exceeded:
        await paypal.refund(status.charge_reference, 500_00, "USD", "refund-2")
    assert (exceeded.value.status, exceeded.value.code) == (422, "REFUND_AMOUNT_EXCEEDED")
    assert len(pp_fake.tokens) == 1  # cached until it expires
    request_ids = {
        h.get("PayPal-Request-Id") for m, p, h in pp_fake.requests if p.endswith("/capture")
    }
    assert request_ids == {f"capture-{link.reference}"}


async def test_paypal_retries_and_renews_a_revoked_token(
    paypal: PayPalGateway, pp_fake: FakePayPal
) -> None:
    pp_fake.fail(Fault(500, path="/v2/checkout/orders"), Fault(429, path="/v2/checkout/orders"))
    link = await paypal.create_link(link_request("USD"))
    assert len(pp_fake.orders) == 1
    pp_fake.tokens.clear()  # revoked
    with pytest.raises(GatewayError) as revoked:
        await paypal.status(link.reference)
    assert revoked.value.status == 401
    assert (await paypal.status(link.reference)).state == "pending"
    assert len(pp_fake.tokens) == 1


async def test_paypal_webhooks_are_verified_by_the_api(
    paypal: PayPalGateway, pp_fake: FakePayPal
) -> None:
    link = await paypal.create_link(link_request("USD"))
    body = pp_fake.event("CHECKOUT.ORDER.APPROVED", link.reference, "WH-EV-1")
    notice = await paypal.verify(_lower(pp_fake.sign(body)), body)
    assert notice == Notice("WH-EV-1", "CHECKOUT.ORDER.APPROVED", link.reference)
    with pytest.raises(InvalidWebhook, match="signature"):
        await paypal.verify(_lower(pp_fake.sign(body, forged=True)), body)
    old = datetime.now(UTC) - timedelta(minutes=20)
    with pytest.raises(InvalidWebhook, match="stale"):
        await paypal.verify(_lower(pp_fake.sign(body, at=old)), body)
    with pytest.raises(InvalidWebhook, match="signature"):
        await paypal.verify({}, body)


def _lower(headers: dict[str, str]) -> dict[str, str]:
    """aiohttp's headers are case-insensitive; a plain dict in a unit test is not."""
    return {name.lower(): value for name, value in headers.items()}
