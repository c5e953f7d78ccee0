"""The payment gateways through the partner client, end to end with the local gateways and
their signed webhooks, on SQLite and PostgreSQL: a call the gateway fails or whose answer is
lost is asked again with the same idempotency key and the money moves once (the shop checks the
money invariants after each test); a gateway down opens its own circuit and guests hear the
polite error at once; each gateway's calls are measured as a partner API."""

from __future__ import annotations

from typing import Any

import pytest

from actions.booking.reservations import Reservations
from tests.fakes.base import Fault
from tests.support.payments_shop import Shop, ShopOpener, cancel, paid_with

UNAVAILABLE = "O serviço de pagamento não está respondendo agora"
LOST = {"delay": 1.0, "lost": True}
"""The gateway does it, but answers after the shop's 0.5 s wait."""


@pytest.fixture
async def impatient_shop(open_shop: ShopOpener, shop_database: str) -> Shop:
    """A shop that waits half a second for a gateway's answer."""
    return await open_shop(shop_database, payment={"gateway_timeout_seconds": 0.5})


def calls(shop: Shop, api: str, result: str) -> float:
    value = shop.runtime.metrics.registry.get_sample_value(
        "rsv_partner_api_calls_total", {"api": api, "result": result}
    )
    assert value is not None, f"{api} is not measured"
    return value


def sample(shop: Shop, name: str, **labels: Any) -> float | None:
    return shop.runtime.metrics.registry.get_sample_value(name, labels)


async def test_a_link_the_gateway_failed_once_is_made_once_and_paid_once(shop: Shop) -> None:
    shop.stripe.fail(Fault(503, path="/v1/checkout/sessions"))
    _, code = await paid_with(shop, "s1", "Cartão (Stripe)")
    assert shop.stripe.calls("POST", "/v1/checkout/sessions") == 2
    assert len(shop.stripe.sessions) == 1
    [payment] = await shop.ledger(code)
    assert (payment.kind, payment.gateway) == ("payment", "stripe")
    assert calls(shop, "stripe", "server_error") == 1
    assert calls(shop, "stripe", "ok") >= 2  # the link, then the payment's status


async def test_a_pix_charge_whose_answer_was_lost_is_asked_again_and_made_once(
    impatient_shop: Shop,
) -> None:
    shop = impatient_shop
    shop.mp.fail(Fault(path="/v1/payments", **LOST))
    _, code = await paid_with(shop, "p1", "Pix")
    charges = [p for p in shop.mp.payments.values() if p["external_reference"] == code]
    assert len(charges) == 1
    assert shop.mp.calls("POST", "/v1/payments") == 2
    keys = {h["X-Idempotency-Key"] for m, p, h in shop.mp.requests if p == "/v1/payments"}
    assert len(keys) == 1  # the same key both times: the gateway answered with the first
    assert len(await shop.ledger(code)) == 1
    assert calls(shop, "mercadopago", "timeout") == 1


async def test_a_refund_whose_answer_was_lost_is_paid_once(impatient_shop: Shop) -> None:
    shop = impatient_shop
    guest, code = await paid_with(shop, "r1", "Cartão (Stripe)")
    total = (await shop.runtime.services.get(Reservations).by_code(code)).total
    shop.stripe.fail(Fault(path="/v1/refunds", **LOST))
    assert "está a caminho" in await cancel(guest)
    [refund] = shop.stripe.refunds.values()
    assert refund["amount"] == total
    assert shop.stripe.calls("POST", "/v1/refunds") == 2
    _, back = await shop.ledger(code)
    assert (back.kind, back.amount, back.gateway_reference) == ("refund", -total, refund["id"])


async def test_a_gateway_down_opens_its_circuit_and_guests_hear_why_at_once(
    open_shop: ShopOpener, shop_database: str
) -> None:
    shop = await open_shop(
        shop_database, partners={"breaker_failures": 2}, payment={"gateway_retries": 1}
    )
    shop.stripe.fail(*(Fault(503, path="/v1/checkout/sessions") for _ in range(4)))
    guest, code = await shop.book("d1")
    for _ in range(2):  # each ask tried twice, then the polite error
        assert UNAVAILABLE in await shop.pay_with(guest, "Cartão (Stripe)")
    assert shop.stripe.calls("POST", "/v1/checkout/sessions") == 4
    assert sample(shop, "rsv_partner_api_breaker_state", api="stripe") == 2
    # Open: the guest hears it at once, and Stripe is not asked.
    assert UNAVAILABLE in await shop.pay_with(guest, "Cartão (Stripe)")
    assert shop.stripe.calls("POST", "/v1/checkout/sessions") == 4
    assert sample(shop, "rsv_partner_api_skipped_total", api="stripe", reason="breaker_open") == 1
    reservation = await shop.runtime.services.get(Reservations).by_code(code)
    assert reservation.state == "pending_payment"  # the rooms stay held for another try
    # Another gateway has its own circuit: Pix still pays.
    assert sample(shop, "rsv_partner_api_breaker_state", api="mercadopago") == 0
    assert "Pix" in await shop.pay_with(guest, "Pix")
    assert calls(shop, "mercadopago", "ok") == 2  # the preference and the Pix charge
    assert calls(shop, "stripe", "server_error") == 4
    assert calls(shop, "paypal", "ok") == 0  # exported from the start, for the api alert
