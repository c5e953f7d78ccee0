"""Paying in chat with each gateway, end to end through the engine and the webhook routes, on
SQLite and PostgreSQL: the link, the provider's signed notification, the payment fetched from
the provider's API, the reservation confirmed and the confirmation pushed to the chat once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from actions.booking.holds import Holds
from actions.booking.reservations import Reservations
from actions.payments.sandbox import SandboxCheckout
from actions.payments.service import PaymentService
from actions.payments.tables import WebhookEvent
from actions.payments.webhooks import WebhookInbox
from tests.fakes.base import Fault
from tests.support.payments_shop import (
    Shop,
)

CONFIRMED = "Pagamento recebido! A reserva {code} está confirmada."
PNG = b"\x89PNG\r\n\x1a\n"


def confirmations(shop: Shop, conversation: str, code: str) -> int:
    return sum(CONFIRMED.format(code=code) in text for text in shop.guest_heard(conversation))


async def test_stripe_book_pay_webhook_confirmation_with_receipt(shop: Shop) -> None:
    guest, code = await shop.book("s1")
    reply = await shop.pay_with(guest, "Cartão (Stripe)")
    assert "link de pagamento" in reply
    session_id = guest.link().rsplit("/", 1)[-1]
    assert shop.stripe.sessions[session_id]["metadata"] == {"reservation_code": code}
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "pending_payment"

    shop.stripe.pay(session_id)
    body = shop.stripe.event("checkout.session.completed", session_id)
    assert await shop.webhook("stripe", body, {"Stripe-Signature": shop.stripe.sign(body)}) == 200
    await shop.settle()
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "confirmed"
    heard = shop.guest_heard("s1")
    assert confirmations(shop, "s1", code) == 1
    assert any("Comprovante: https://pay.stripe.com/receipts/" in text for text in heard)
    [entry] = await shop.ledger(code)
    reservation = await shop.runtime.services.get(Reservations).by_code(code)
    assert (entry.kind, entry.gateway, entry.amount) == ("payment", "stripe", reservation.total)
    assert entry.gateway_reference in shop.stripe.intents
    assert entry.idempotency_key == f"pay-{code}-stripe-1"
    metrics = shop.runtime.metrics.registry
    assert metrics.get_sample_value("rsv_payments_created_total", {"gateway": "stripe"}) == 1
    assert metrics.get_sample_value("rsv_payments_succeeded_total", {"gateway": "stripe"}) == 1
    assert (
        metrics.get_sample_value(
            "rsv_payment_gateway_seconds_count", {"gateway": "stripe", "operation": "status"}
        )
        == 1
    )


async def test_mercadopago_pix_qr_code_and_copy_paste_code_in_chat(shop: Shop) -> None:
    guest, code = await shop.book("m1")
    reply = await shop.pay_with(guest, "Pix ou cartão (Mercado Pago)")
    assert "Prefere Pix?" in reply
    pix = next(r for r in guest.last if r.image is not None)
    assert pix.image is not None
    assert pix.image.media_key is not None
    stored = await shop.runtime.media.store.get(pix.image.media_key)
    assert stored is not None
    assert (stored.content_type, stored.data[:8]) == ("image/png", PNG)
    assert "000201" in pix.text
    assert "mercadopago.com.br/checkout" in guest.link()
    [pix_id] = [i for i, p in shop.mp.payments.items() if p["external_reference"] == code]

    shop.mp.pay(pix_id)
    body = shop.mp.notification(pix_id)
    assert await shop.webhook("mercadopago", body, shop.mp.sign(body)) == 200
    await shop.settle()
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "confirmed"
    assert confirmations(shop, "m1", code) == 1
    [entry] = await shop.ledger(code)
    assert (entry.gateway, entry.gateway_reference) == ("mercadopago", pix_id)


async def test_paypal_captured_on_return_and_the_webhook_adds_nothing(shop: Shop) -> None:
    guest, code = await shop.book("p1")
    await shop.pay_with(guest, "PayPal")
    order_id = parse_qs(urlsplit(guest.link()).query)["token"][0]
    shop.paypal.approve(order_id)
    return_path = (await shop.payment(code)).url  # the approve link; the return is ours:
    assert order_id in return_path
    token = shop.runtime.services.get(SandboxCheckout).link_for(code).rsplit("/", 1)[-1]
    page = await shop.client.get(f"/payments/return/paypal/{token}?token={order_id}&PayerID=P1")
    assert page.status == 200
    assert 'data-status="paid"' in await page.text()
    assert shop.paypal.orders[order_id]["status"] == "COMPLETED"
    body = shop.paypal.event("PAYMENT.CAPTURE.COMPLETED", order_id)
    assert await shop.webhook("paypal", body, shop.paypal.sign(body)) == 200
    await shop.settle()
    assert confirmations(shop, "p1", code) == 1
    assert len(await shop.ledger(code)) == 1
    forged = await shop.client.get(f"/payments/return/paypal/forged-token?token={order_id}")
    assert forged.status == 404


async def test_paypal_captured_by_the_webhook_when_the_payer_never_returns(shop: Shop) -> None:
    guest, code = await shop.book("p2")
    await shop.pay_with(guest, "PayPal")
    order_id = parse_qs(urlsplit(guest.link()).query)["token"][0]
    shop.paypal.approve(order_id)
    body = shop.paypal.event("CHECKOUT.ORDER.APPROVED", order_id)
    assert await shop.webhook("paypal", body, shop.paypal.sign(body)) == 200
    await shop.settle()
    assert shop.paypal.orders[order_id]["status"] == "COMPLETED"
    assert confirmations(shop, "p2", code) == 1


async def test_bad_webhooks_get_4xx_and_change_nothing(shop: Shop) -> None:
    guest, code = await shop.book("b1")
    await shop.pay_with(guest, "Cartão (Stripe)")
    session_id = guest.link().rsplit("/", 1)[-1]
    shop.stripe.pay(session_id)
    body = shop.stripe.event("checkout.session.completed", session_id)
    wrong = shop.stripe.sign(body, secret="whsec_someone_else")
    stale = shop.stripe.sign(body, timestamp=1_700_000_000)
    assert await shop.webhook("stripe", body, {"Stripe-Signature": wrong}) == 400
    assert await shop.webhook("stripe", body, {"Stripe-Signature": stale}) == 400
    assert await shop.webhook("stripe", body, {}) == 400
    junk = b"{not json"
    assert await shop.webhook("stripe", junk, {"Stripe-Signature": shop.stripe.sign(junk)}) == 400
    assert await shop.webhook("nopay", body, {}) == 404
    assert await shop.webhook("sandbox", body, {}) == 404
    mp_body = shop.mp.notification("123")
    assert await shop.webhook("mercadopago", mp_body, shop.mp.sign(mp_body, secret="x")) == 400
    pp_body = shop.paypal.event("CHECKOUT.ORDER.APPROVED", "ORDER1")
    assert await shop.webhook("paypal", pp_body, shop.paypal.sign(pp_body, forged=True)) == 400
    huge = await shop.client.post("/webhooks/payments/stripe", data=b"x" * 300_000)
    assert huge.status == 413
    await shop.settle()
    assert await shop.events() == 0
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "pending_payment"
    assert shop.guest_heard("b1") == []
    registry = shop.runtime.metrics.registry
    rejected = registry.get_sample_value(
        "rsv_payment_webhooks_rejected_total", {"gateway": "stripe", "reason": "signature"}
    )
    assert rejected == 3
    forged = {"source": "stripe", "reason": "signature"}
    assert registry.get_sample_value("rsv_webhook_verification_failures_total", forged) == 3


async def test_a_hundred_deliveries_at_once_confirm_once(shop: Shop) -> None:
    guest, code = await shop.book("c1")
    await shop.pay_with(guest, "Cartão (Stripe)")
    session_id = guest.link().rsplit("/", 1)[-1]
    shop.stripe.pay(session_id)
    same = shop.stripe.event("checkout.session.completed", session_id, "evt_same")
    others = [shop.stripe.event("checkout.session.completed", session_id) for _ in range(20)]
    bodies = [same] * 80 + others
    statuses = await asyncio.gather(
        *(
            shop.webhook("stripe", body, {"Stripe-Signature": shop.stripe.sign(body)})
            for body in bodies
        )
    )
    assert set(statuses) == {200}
    await shop.settle()
    assert await shop.events() == 21
    assert confirmations(shop, "c1", code) == 1
    assert len(await shop.ledger(code)) == 1
    assert await shop.count(WebhookEvent, WebhookEvent.applied_at.is_(None)) == 0


async def test_out_of_order_and_late_events_leave_the_right_state(shop: Shop) -> None:
    guest, code = await shop.book("o1")
    await shop.pay_with(guest, "Cartão (Stripe)")
    session_id = guest.link().rsplit("/", 1)[-1]
    shop.stripe.pay(session_id)
    for kind in (
        "checkout.session.expired",
        "checkout.session.async_payment_failed",
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
    ):
        body = shop.stripe.event(kind, session_id)
        assert (
            await shop.webhook("stripe", body, {"Stripe-Signature": shop.stripe.sign(body)}) == 200
        )
        await shop.settle()
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "confirmed"
    assert shop.guest_heard("o1") == [t for t in shop.guest_heard("o1") if code in t]
    assert confirmations(shop, "o1", code) == 1
    assert len(shop.guest_heard("o1")) == 1  # no "failed" or "expired" after the money came


async def test_an_amount_mismatch_is_flagged_not_confirmed(shop: Shop) -> None:
    guest, code = await shop.book("x1")
    await shop.pay_with(guest, "Cartão (Stripe)")
    session_id = guest.link().rsplit("/", 1)[-1]
    shop.stripe.pay(session_id, amount=100)
    body = shop.stripe.event("checkout.session.completed", session_id)
    assert await shop.webhook("stripe", body, {"Stripe-Signature": shop.stripe.sign(body)}) == 200
    await shop.settle()
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "pending_payment"
    assert (await shop.payment(code)).status == "flagged"
    assert confirmations(shop, "x1", code) == 0
    [alert] = await shop.staff_heard()
    assert alert.text.startswith("🟠 Pagamentos · atenção:")
    assert "não confere" in alert.text
    titles = [button.title for button in alert.buttons]
    assert titles == ["Reconhecer", "Silenciar 1 h", "Silenciar 24 h", "Reembolsar tudo"]
    refund_all = alert.buttons[-1].payload
    assert refund_all == f"intent:refund_flagged|id={(await shop.payment(code)).id}"
    assert (
        shop.runtime.metrics.registry.get_sample_value(
            "rsv_payments_flagged_total", {"gateway": "stripe"}
        )
        == 1
    )
    [entry] = await shop.ledger(code)
    assert entry.amount == 100  # what was really taken, so the ledger reconciles
    team = shop.staff()
    assert "aprovado e pago" in await team.sends(refund_all)
    [refund] = shop.stripe.refunds.values()
    assert refund["amount"] == 100
    [settled] = await shop.staff_saw_edited()  # the matter is settled: the alert resolves
    assert settled.text.startswith("✅ Resolvido")
    assert not any(button.payload for button in settled.buttons)


async def test_unknown_payments_are_acknowledged_and_ignored(shop: Shop) -> None:
    pix_id = shop.mp.pay(next(iter(await _someone_elses_preference(shop))))
    body = shop.mp.notification(pix_id)
    assert await shop.webhook("mercadopago", body, shop.mp.sign(body)) == 200
    await shop.settle()
    assert shop.pushed == []
    async with shop.runtime.database.session() as session:
        from sqlalchemy import select

        event = await session.scalar(select(WebhookEvent))
        assert event is not None
        assert event.outcome == "unknown"


async def test_a_failed_payment_and_an_expired_link_offer_a_new_link(shop: Shop) -> None:
    guest, code = await shop.book("f1")
    await shop.pay_with(guest, "Pix ou cartão (Mercado Pago)")
    [pix_id] = [i for i, p in shop.mp.payments.items() if p["external_reference"] == code]
    shop.mp.pay(pix_id, status="rejected")
    body = shop.mp.notification(pix_id)
    assert await shop.webhook("mercadopago", body, shop.mp.sign(body)) == 200
    await shop.settle()
    [failed] = shop.to(_guest("f1"))
    assert f"O pagamento da {code} não foi aprovado e nada foi cobrado" in failed.text
    assert failed.buttons[0].payload == f"intent:pay|code={code}"

    guest2, code2 = await shop.book("e1")
    await shop.pay_with(guest2, "Cartão (Stripe)")
    session_id = guest2.link().rsplit("/", 1)[-1]
    shop.stripe.expire(session_id)
    body = shop.stripe.event("checkout.session.expired", session_id)
    assert await shop.webhook("stripe", body, {"Stripe-Signature": shop.stripe.sign(body)}) == 200
    await shop.settle()
    [expired] = shop.to(_guest("e1"))
    assert f"O link de pagamento da {code2} expirou" in expired.text
    assert [b.title for b in expired.buttons] == ["Enviar um novo link"]
    again = await guest2.sends(expired.buttons[0].payload or "")  # a new link while held
    assert "Como você prefere pagar" in again
    await guest2.presses("Cartão (Stripe)")
    assert guest2.link().rsplit("/", 1)[-1] != session_id


async def test_an_event_stored_while_the_gateway_is_down_is_applied_later(shop: Shop) -> None:
    guest, code = await shop.book("d1")
    await shop.pay_with(guest, "Cartão (Stripe)")
    session_id = guest.link().rsplit("/", 1)[-1]
    shop.stripe.pay(session_id)
    shop.stripe.fail(*(Fault(503, path="/v1/checkout/sessions/") for _ in range(3)))
    body = shop.stripe.event("checkout.session.completed", session_id)
    assert await shop.webhook("stripe", body, {"Stripe-Signature": shop.stripe.sign(body)}) == 200
    await shop.settle()
    assert confirmations(shop, "d1", code) == 0
    assert await shop.count(WebhookEvent, WebhookEvent.applied_at.is_(None)) == 1
    assert await shop.runtime.services.get(WebhookInbox).retry_unapplied(older_than_seconds=0) == 1
    assert confirmations(shop, "d1", code) == 1
    assert await shop.count(WebhookEvent, WebhookEvent.applied_at.is_(None)) == 0


def _guest(conversation: str):  # type: ignore[no-untyped-def]
    from bot.core.types import Address

    return Address("test", conversation)


async def _someone_elses_preference(shop: Shop) -> list[str]:
    from datetime import UTC, datetime, timedelta

    from actions.payments.gateway import LinkRequest

    gateway = shop.runtime.services.get(PaymentService).gateways["mercadopago"]
    link = await gateway.create_link(
        LinkRequest(
            "RSV-ZZZZZZ",
            100_00,
            "USD",
            "elsewhere",
            "x@example.com",
            datetime.now(UTC) + timedelta(minutes=15),
            "http://x/",
            "someone-else",
        )
    )
    return [link.reference]


async def test_a_payment_after_the_hold_expired_is_refunded_whole(shop: Shop) -> None:
    from sqlalchemy import update

    from actions.booking.tables import Reservation

    guest, code = await shop.book("l1")
    await shop.pay_with(guest, "Cartão (Stripe)")
    session_id = guest.link().rsplit("/", 1)[-1]
    async with shop.runtime.database.session() as session:
        await session.execute(
            update(Reservation)
            .where(Reservation.code == code)
            .values(hold_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert [r.code for r in await shop.runtime.services.get(Holds).expire_holds()] == [code]
    shop.stripe.pay(session_id)  # Stripe's session outlived the hold
    for _ in range(2):
        body = shop.stripe.event("checkout.session.completed", session_id)
        assert (
            await shop.webhook("stripe", body, {"Stripe-Signature": shop.stripe.sign(body)}) == 200
        )
        await shop.settle()
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "expired"
    [refund] = shop.stripe.refunds.values()
    assert refund["amount"] == shop.stripe.sessions[session_id]["amount_total"]
    heard = shop.guest_heard("l1")
    assert len(heard) == 2
    assert "chegou quando a reserva já não estava guardada" in heard[0]
    assert confirmations(shop, "l1", code) == 0
    assert [e.kind for e in await shop.ledger(code)] == ["payment", "refund"]
