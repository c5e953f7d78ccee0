"""The Stripe gateway through the real SDK (aiohttp client) against a local Stripe."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from actions.payments.gateway import GatewayError, Ignored, InvalidWebhook, LinkRequest, Notice
from actions.payments.metrics import PaymentMetrics
from actions.payments.stripe_gateway import StripeGateway
from bot.core.clock import system_now
from bot.partners.client import PartnerClient
from tests.fakes.base import Fault
from tests.fakes.stripe import FakeStripe
from tests.support.partners import Workers


@pytest.fixture
async def fake() -> AsyncIterator[FakeStripe]:
    server = await FakeStripe().start()
    yield server
    await server.close()


@pytest.fixture
async def partners() -> AsyncIterator[PartnerClient]:
    """A worker's partner client, its retries waiting on a clock the test owns."""
    workers = Workers("memory")
    yield workers.client()
    await workers.close()


@pytest.fixture
def gateway(fake: FakeStripe, partners: PartnerClient) -> StripeGateway:
    return StripeGateway(
        "sk_test_x",
        fake.webhook_secret,
        PaymentMetrics(CollectorRegistry()),
        partners,
        api_base=fake.url,
        timeout_seconds=0.5,
        now=system_now,
    )


def link_request(key: str = "pay-RSV-AAAAAA-stripe-1", amount: int = 123_40) -> LinkRequest:
    return LinkRequest(
        "RSV-AAAAAA",
        amount,
        "USD",
        "Pousada do Mar · RSV-AAAAAA",
        "guest@example.com",
        datetime.now(UTC) + timedelta(minutes=15),
        "http://127.0.0.1/payments/return/stripe/t",
        key,
    )


async def test_a_link_is_a_checkout_session_and_the_key_makes_it_once(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    first = await gateway.create_link(link_request())
    again = await gateway.create_link(link_request())
    assert first == again
    assert first.url.startswith("https://checkout.stripe.com/")
    session = fake.sessions[first.reference]
    assert (session["amount_total"], session["currency"]) == (12340, "usd")
    assert session["metadata"] == {"reservation_code": "RSV-AAAAAA"}
    assert session["client_reference_id"] == "RSV-AAAAAA"
    assert session["expires_at"] >= time.time() + 30 * 60  # Stripe's minimum, not the hold
    assert len(fake.sessions) == 1
    headers = [h for m, p, h in fake.requests if m == "POST"]
    assert {h["Idempotency-Key"] for h in headers} == {"pay-RSV-AAAAAA-stripe-1"}


async def test_status_comes_from_the_api_with_the_receipt(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    link = await gateway.create_link(link_request())
    assert (await gateway.status(link.reference)).state == "pending"
    fake.pay(link.reference)
    status = await gateway.status(link.reference)
    assert (status.state, status.amount, status.currency) == ("paid", 12340, "USD")
    assert status.reservation_code == "RSV-AAAAAA"
    assert status.charge_reference in fake.intents
    assert status.receipt_url
    assert status.receipt_url.startswith("https://pay.stripe.com/")
    fake.expire(link.reference)
    fake.sessions[link.reference]["payment_status"] = "unpaid"
    assert (await gateway.status(link.reference)).state == "expired"


async def test_server_errors_and_lock_timeouts_are_retried(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    fake.fail(Fault(500), Fault(429, headers={"Stripe-Should-Retry": "true"}))
    link = await gateway.create_link(link_request())
    assert link.reference in fake.sessions
    assert fake.calls("POST", "/v1/checkout/sessions") == 3


async def test_a_refused_request_is_final_and_says_why(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    fake.fail(
        Fault(
            400,
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "parameter_missing",
                    "message": "Missing required param: currency.",
                }
            },
        )
    )
    with pytest.raises(GatewayError) as refused:
        await gateway.create_link(link_request())
    assert (refused.value.status, refused.value.code) == (400, "parameter_missing")
    assert fake.calls("POST", "/v1/checkout/sessions") == 1
    with pytest.raises(GatewayError) as unknown:
        await gateway.refund("pi_unknown", 100, "USD", "refund-1")
    assert (unknown.value.status, unknown.value.code) == (404, "resource_missing")


async def test_timeouts_are_retried_then_reported(gateway: StripeGateway, fake: FakeStripe) -> None:
    fake.fail(*(Fault(delay=1.0) for _ in range(3)))
    with pytest.raises(GatewayError) as failed:
        await gateway.create_link(link_request())
    assert failed.value.status is None
    assert fake.calls("POST", "/v1/checkout/sessions") == 3


async def test_partial_refunds_of_the_payment_intent(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    link = await gateway.create_link(link_request())
    fake.pay(link.reference)
    intent = (await gateway.status(link.reference)).charge_reference
    assert intent is not None
    first = await gateway.refund(intent, 4000, "USD", "refund-1-1")
    assert first.completed
    assert first == await gateway.refund(intent, 4000, "USD", "refund-1-1")  # retried: once
    with pytest.raises(GatewayError) as too_much:
        await gateway.refund(intent, 9000, "USD", "refund-1-2")
    assert (too_much.value.status, too_much.value.code) == (400, "amount_too_large")
    assert (await gateway.status(link.reference)).refunded == 4000


async def test_webhooks_verify_the_signature_and_the_time(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    link = await gateway.create_link(link_request())
    body = fake.event("checkout.session.completed", link.reference, "evt_1")
    notice = await gateway.verify({"Stripe-Signature": fake.sign(body)}, body)
    assert notice == Notice("evt_1", "checkout.session.completed", link.reference)
    with pytest.raises(InvalidWebhook, match="signature"):
        await gateway.verify({"Stripe-Signature": fake.sign(body, secret="whsec_other")}, body)
    with pytest.raises(InvalidWebhook, match="signature"):
        await gateway.verify({"Stripe-Signature": fake.sign(body, int(time.time()) - 600)}, body)
    with pytest.raises(InvalidWebhook):
        await gateway.verify({}, body)
    other = fake.event("customer.created", link.reference)
    assert isinstance(await gateway.verify({"Stripe-Signature": fake.sign(other)}, other), Ignored)
