"""``rsv360 payments reconcile``: the ledger against the gateways' APIs."""

from __future__ import annotations

import asyncio

import pytest

from actions.payments.reconcile import reconcile
from actions.payments.service import PaymentService
from bot.root.cli import main
from tests.support.payments_shop import Shop, point_the_cli_at


async def test_reconcile_finds_lost_notifications_and_refunds_made_elsewhere(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    paid, paid_code = await shop.book("k1")
    await shop.pay_with(paid, "Cartão (Stripe)")
    session_id = paid.link().rsplit("/", 1)[-1]
    shop.stripe.pay(session_id)
    body = shop.stripe.event("checkout.session.completed", session_id)
    assert await shop.webhook("stripe", body, {"Stripe-Signature": shop.stripe.sign(body)}) == 200
    await shop.settle()
    assert (
        await reconcile(
            shop.runtime.database, shop.runtime.services.get(PaymentService), shop.runtime.now()
        )
        == []
    )

    lost, lost_code = await shop.book("k2")
    await shop.pay_with(lost, "PayPal")  # paid at PayPal, the notification never came
    order_id = lost.link().rsplit("token=", 1)[-1]
    shop.paypal.approve(order_id)
    shop.stripe.intents[next(iter(shop.stripe.intents))]["latest_charge"]["amount_refunded"] = 500
    shop.broken_on_purpose = {"ledger_vs_gateway"}  # a refund made in Stripe's dashboard

    found = {
        d.reservation_code: d
        for d in await reconcile(
            shop.runtime.database, shop.runtime.services.get(PaymentService), shop.runtime.now()
        )
    }
    assert set(found) == {paid_code, lost_code}
    assert found[paid_code].note == "amounts differ"
    assert (found[paid_code].ledger_refunded, found[paid_code].gateway_refunded) == (0, 500)
    assert found[lost_code].note == "paid at the gateway, missing in the ledger"

    point_the_cli_at(shop, monkeypatch)
    with pytest.raises(SystemExit) as exited:
        await asyncio.to_thread(main, ["payments", "reconcile"])
    assert exited.value.code == 1
    printed = capsys.readouterr().out
    assert "2 difference(s)" in printed
    assert lost_code in printed
