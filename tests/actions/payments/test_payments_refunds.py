"""Refunds end to end: cancellation by the policy through the gateway that took the money,
large refunds and requests outside the policy waiting for staff (buttons from any staff channel,
or the admin REST endpoint), the guest told at each step, and the ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from actions.booking.policy import CancellationPolicy
from actions.booking.reservations import Reservations
from actions.booking.tables import Property
from tests.support.payments_shop import (
    ADMIN_KEY,
    Chat,
    Shop,
    ShopOpener,
    cancel,
    paid_with,
)
from tests.support.stays import stay_in_window


@pytest.fixture
async def strict_shop(open_shop: ShopOpener, shop_database: str) -> Shop:
    """Every refund above R$ 100,00 needs staff approval."""
    return await open_shop(shop_database, refund_approval_above=100_00)


async def test_cancelling_inside_the_free_window_refunds_all_through_stripe(shop: Shop) -> None:
    guest, code = await paid_with(shop, "r1", "Cartão (Stripe)")
    total = (await shop.runtime.services.get(Reservations).by_code(code)).total
    done = await cancel(guest)
    assert "está a caminho" in done
    [refund] = shop.stripe.refunds.values()
    assert refund["amount"] == total
    payment, back = await shop.ledger(code)
    assert (payment.amount, back.kind, back.amount, back.gateway) == (
        total,
        "refund",
        -total,
        "stripe",
    )
    assert back.gateway_reference == refund["id"]
    assert any("O reembolso de" in t and code in t for t in shop.guest_heard("r1"))
    assert await shop.staff_heard() == []
    assert (
        shop.runtime.metrics.registry.get_sample_value(
            "rsv_refunds_total", {"gateway": "stripe", "state": "paid"}
        )
        == 1
    )


async def test_cancelling_outside_the_free_window_refunds_part_through_mercadopago(
    shop: Shop,
) -> None:
    policy = CancellationPolicy(free_until_days=60, partial_until_days=5, partial_refund_percent=50)
    async with shop.runtime.database.session() as session:
        await session.execute(
            update(Property).values(
                free_cancel_days=policy.free_until_days,
                partial_cancel_days=policy.partial_until_days,
                partial_refund_percent=policy.partial_refund_percent,
            )
        )
    stay = stay_in_window(policy, "partial")
    guest, code = await paid_with(shop, "r2", "Pix ou cartão (Mercado Pago)", stay)
    reservation = await shop.runtime.services.get(Reservations).by_code(code)
    await cancel(guest)
    [pix] = [p for p in shop.mp.payments.values() if p["external_reference"] == code]
    assert round(pix["transaction_amount_refunded"] * 100) == reservation.total * 50 // 100
    assert [e.amount for e in await shop.ledger(code)] == [
        reservation.total,
        -(reservation.total * 50 // 100),
    ]


async def test_a_large_refund_waits_for_staff_and_approval_pays_it(strict_shop: Shop) -> None:
    shop = strict_shop
    guest, code = await paid_with(shop, "r3", "PayPal")
    done = await cancel(guest)
    assert "precisa da aprovação da nossa equipe" in done
    [order] = shop.paypal.orders.values()
    assert order["purchase_units"][0]["payments"]["refunds"] == []
    [review] = await shop.staff_heard()
    assert f"{code}" in review.text
    assert "aguarda aprovação" in review.text
    decisions = ("intent:refund_approve|", "intent:refund_deny|")
    approve, deny = (b.payload for b in review.buttons if (b.payload or "").startswith(decisions))
    assert approve is not None
    assert approve.startswith("intent:refund_approve|id=")

    assert "isso é só para a equipe do hotel" in await guest.sends(approve)  # a guest: refused
    assert order["purchase_units"][0]["payments"]["refunds"] == []

    decided = await shop.staff().sends(approve)
    assert "aprovado e pago" in decided
    assert len(order["purchase_units"][0]["payments"]["refunds"]) == 1
    heard = shop.guest_heard("r3")
    assert any("foi aprovado" in t for t in heard)
    assert any("foi enviado para o meio de pagamento" in t for t in heard)
    assert "já foi decidido" in await shop.staff().sends(approve)
    assert "já foi decidido" in await shop.staff().sends(deny or "")
    [settled] = await shop.staff_saw_edited()
    assert settled.text.startswith("✅ Resolvido")
    assert code in settled.text
    assert [e.kind for e in await shop.ledger(code)] == ["payment", "refund"]


async def test_a_refund_asked_outside_the_policy_is_denied_with_a_reason(shop: Shop) -> None:
    guest, code = await paid_with(shop, "r4", "Cartão (Stripe)")
    status = await guest.says("quero um reembolso")
    assert "não tem reembolsos" in status
    await guest.presses(f"Pedir reembolso da {code}")
    assert "por que você está pedindo" in guest.last[0].text
    sent = await guest.says("o ar-condicionado estava quebrado")
    assert "já está com a nossa equipe" in sent
    assert any("foi enviado para a nossa equipe" in t for t in shop.guest_heard("r4"))
    [review] = await shop.staff_heard()
    assert "o ar-condicionado estava quebrado" in review.text
    [deny] = [
        b.payload for b in review.buttons if (b.payload or "").startswith("intent:refund_deny")
    ]
    assert deny is not None
    team = shop.staff()
    assert "Por que o reembolso" in await team.sends(deny)
    assert await team.presses("Fora da política")
    assert "recusado" in team.last[0].text
    told = shop.guest_heard("r4")[-1]
    assert "Motivo: está fora da política de cancelamento." in told
    assert "não aprovado" in await guest.says("qual o status do meu reembolso?")
    assert shop.stripe.refunds == {}
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "confirmed"


async def test_the_admin_endpoint_lists_approves_and_denies(strict_shop: Shop) -> None:
    shop = strict_shop
    client = shop.client
    first_guest, first = await paid_with(shop, "a1", "Cartão (Stripe)")
    second_guest, second = await paid_with(shop, "a2", "Cartão (Stripe)")
    await cancel(first_guest)
    await cancel(second_guest)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_KEY}):
        assert (await client.get("/admin/refunds", headers=headers)).status == 401
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
    listed = await (await client.get("/admin/refunds", headers=auth)).json()
    by_code = {item["reservation"]: item["id"] for item in listed["refunds"]}
    assert set(by_code) == {first, second}
    denied_path = f"/admin/refunds/{by_code[second]}/deny"
    assert (await client.post(denied_path, headers=auth, data=b"{oops")).status == 400
    assert (await client.post(denied_path, headers=auth, json={"reason": " "})).status == 400
    assert (await client.post(denied_path, json={"reason": "x"})).status == 401
    answer = await client.post(denied_path, headers=auth, json={"reason": "Já estornado no balcão"})
    assert (answer.status, (await answer.json())["result"]) == (200, "denied")
    assert "Motivo: Já estornado no balcão" in shop.guest_heard("a2")[-1]
    approved = await client.post(f"/admin/refunds/{by_code[first]}/approve", headers=auth)
    assert (approved.status, (await approved.json())["result"]) == (200, "paid")
    assert (
        await client.post(f"/admin/refunds/{by_code[first]}/approve", headers=auth)
    ).status == 409
    assert (await client.post("/admin/refunds/999999/approve", headers=auth)).status == 404
    assert (await (await client.get("/admin/refunds", headers=auth)).json())["refunds"] == []
    assert len(shop.stripe.refunds) == 1


@pytest.mark.parametrize(
    ("locale", "question", "answer"),
    [("en", "where is my refund?", "You have no refunds in progress."),
     ("es", "¿dónde está mi reembolso?", "No tienes reembolsos en curso.")],
)  # fmt: skip
async def test_refund_status_speaks_the_guests_language(
    shop: Shop, locale: str, question: str, answer: str
) -> None:
    guest = Chat(shop.runtime, f"lang-{locale}", locale=locale)
    assert answer in await guest.says(question)
