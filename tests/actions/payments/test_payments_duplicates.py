"""One reservation, one kept payment: once it is paid, its other links are closed at their
gateways (Stripe expires the session, Mercado Pago the preference and the Pix charge; PayPal and
the sandbox close here), and a payment that still comes through is refunded whole (or waits for
staff above the approval limit), the guest and the staff told, the ledger showing both."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from actions.booking.reservations import Reservations
from actions.payments.refunds import Refunds
from actions.payments.tables import Payment, Refund
from tests.support.payments_shop import (
    EVERY_GATEWAY,
    TEST_PAYMENT,
    Chat,
    Shop,
    ShopOpener,
    pay_on_sandbox_page,
)

PAID_TWICE = "foi paga duas vezes"
TOLD_TWICE = "chegou um segundo pagamento"


@pytest.fixture
async def strict_every_shop(open_shop: ShopOpener, shop_database: str) -> Shop:
    """Every gateway, and every refund above R$ 100,00 waits for staff."""
    return await open_shop(
        shop_database, refund_approval_above=100_00, payment={"routes": EVERY_GATEWAY}
    )


async def links_everywhere(shop: Shop, conversation: str) -> tuple[Chat, str, dict[str, str]]:
    """A guest asks for a link of every gateway; the links by gateway."""
    guest, code = await shop.book(conversation)
    await shop.pay_with(guest, TEST_PAYMENT)
    links = {"sandbox": guest.link()}
    for gateway in ("stripe", "mercadopago", "paypal"):
        await guest.sends(f"intent:pay|code={code}|gateway={gateway}")
        links[gateway] = guest.link()
    return guest, code, links


async def statuses(shop: Shop, code: str) -> dict[str, str]:
    async with shop.runtime.database.session() as session:
        rows = await session.scalars(select(Payment).where(Payment.reservation_code == code))
        return {row.gateway: row.status for row in rows}


async def stripe_webhook(shop: Shop, session_id: str) -> None:
    body = shop.stripe.event("checkout.session.completed", session_id)
    assert await shop.webhook("stripe", body, {"Stripe-Signature": shop.stripe.sign(body)}) == 200
    await shop.settle()


async def test_paying_closes_the_other_links_at_their_gateways(every_shop: Shop) -> None:
    shop = every_shop
    _, code, links = await links_everywhere(shop, "c1")

    assert await pay_on_sandbox_page(shop, links["sandbox"]) == 303

    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "confirmed"
    assert await statuses(shop, code) == {
        "sandbox": "paid",
        "stripe": "closed",
        "mercadopago": "closed",
        "paypal": "closed",
    }
    session_id = links["stripe"].rsplit("/", 1)[-1]
    assert shop.stripe.sessions[session_id]["status"] == "expired"
    with pytest.raises(ValueError, match="nothing to pay"):
        shop.stripe.pay(session_id)
    [preference] = shop.mp.preferences
    [pix] = [i for i, p in shop.mp.payments.items() if p["external_reference"] == code]
    assert shop.mp.payments[pix]["status"] == "cancelled"
    for reference in (preference, pix):
        with pytest.raises(ValueError, match="nothing to pay"):
            shop.mp.pay(reference)
    assert [(e.kind, e.gateway) for e in await shop.ledger(code)] == [("payment", "sandbox")]


async def test_a_payment_that_still_comes_is_refunded_whole_and_told(every_shop: Shop) -> None:
    shop = every_shop
    _, code, links = await links_everywhere(shop, "c2")
    session_id = links["stripe"].rsplit("/", 1)[-1]
    shop.stripe.pay(session_id)  # paid at Stripe; its notification is still on its way

    assert await pay_on_sandbox_page(shop, links["sandbox"]) == 303
    await stripe_webhook(shop, session_id)
    await stripe_webhook(shop, session_id)  # told twice: refunded once

    total = (await shop.runtime.services.get(Reservations).by_code(code)).total
    ledger = [(e.kind, e.gateway, e.amount) for e in await shop.ledger(code)]
    assert ledger == [
        ("payment", "sandbox", total),
        ("payment", "stripe", total),
        ("refund", "stripe", -total),
    ]
    [refund] = shop.stripe.refunds.values()
    assert refund["amount"] == total
    assert (await statuses(shop, code))["stripe"] == "duplicate"
    assert sum(TOLD_TWICE in text for text in shop.guest_heard("c2")) == 1
    [told] = [reply for reply in await shop.staff_heard() if PAID_TWICE in reply.text]
    assert "Pagamentos · informativo:" in told.text  # an info alert
    # Refunded at once, so the alert resolved: its delivery job posts it as it stands when the
    # job runs (AlertDesk.deliver), firing and then edited, or already resolved when the refund
    # was the quicker of the two.
    shown = [told, *await shop.staff_saw_edited()]
    assert len(shown) <= 2
    assert shown[-1].text.startswith("✅")
    assert PAID_TWICE in shown[-1].text
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "confirmed"
    metrics = shop.runtime.metrics.registry
    assert metrics.get_sample_value("rsv_payments_duplicate_total", {"gateway": "stripe"}) == 1


async def test_a_large_duplicate_waits_for_staff(strict_every_shop: Shop) -> None:
    shop = strict_every_shop
    _, code, links = await links_everywhere(shop, "c3")
    session_id = links["stripe"].rsplit("/", 1)[-1]
    shop.stripe.pay(session_id)

    assert await pay_on_sandbox_page(shop, links["sandbox"]) == 303
    await stripe_webhook(shop, session_id)

    [refund] = await shop.runtime.services.get(Refunds).pending()
    assert (refund.reason, refund.state) == ("duplicate", "requested")
    assert shop.stripe.refunds == {}
    heard = await shop.staff_heard()
    assert any("refund_approve" in (b.payload or "") for r in heard for b in r.buttons)
    assert await shop.count(Refund, Refund.reservation_code == code) == 1
