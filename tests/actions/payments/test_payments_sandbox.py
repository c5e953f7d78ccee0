"""The sandbox gateway's status is what its page took and gave back, never the reservation's
state: a return to a sandbox URL after cancelling, or after paying elsewhere, moves no money."""

from __future__ import annotations

from actions.booking.reservations import Reservations
from actions.payments.service import PaymentService
from actions.payments.tables import LedgerEntry, Payment, Refund, SandboxMovement
from tests.support.payments_shop import (
    TEST_PAYMENT,
    Shop,
    cancel,
    pay_on_sandbox_page,
    return_to,
)


async def test_returning_to_the_sandbox_after_cancelling_unpaid_moves_no_money(
    every_shop: Shop,
) -> None:
    shop = every_shop
    guest, code = await shop.book("x1")
    await shop.pay_with(guest, TEST_PAYMENT)
    link = guest.link()
    await cancel(guest)
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "cancelled"

    assert await return_to(shop, "sandbox", link) == 200

    assert await shop.ledger(code) == []
    assert await shop.count(Refund, Refund.reservation_code == code) == 0
    assert (await shop.payment(code)).status != "paid"


async def test_a_sandbox_return_after_paying_with_stripe_adds_nothing(every_shop: Shop) -> None:
    shop = every_shop
    guest, code = await shop.book("x2")
    await shop.pay_with(guest, TEST_PAYMENT)
    sandbox_link = guest.link()
    await guest.sends(f"intent:pay|code={code}|gateway=stripe")  # the guest changes their mind
    session_id = guest.link().rsplit("/", 1)[-1]
    shop.stripe.pay(session_id)
    body = shop.stripe.event("checkout.session.completed", session_id)
    assert await shop.webhook("stripe", body, {"Stripe-Signature": shop.stripe.sign(body)}) == 200
    await shop.settle()

    assert await return_to(shop, "sandbox", sandbox_link) == 200

    assert [(e.kind, e.gateway) for e in await shop.ledger(code)] == [("payment", "stripe")]
    assert await shop.count(Payment, Payment.gateway == "sandbox", Payment.status == "paid") == 0


async def test_the_sandbox_holds_what_its_page_took_less_its_refunds(every_shop: Shop) -> None:
    shop = every_shop
    guest, code = await shop.book("x3")
    await shop.pay_with(guest, TEST_PAYMENT)
    assert await pay_on_sandbox_page(shop, guest.link()) == 303
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "confirmed"
    await cancel(guest)  # inside the free window: all of it back

    sandbox = shop.runtime.services.get(PaymentService).gateways["sandbox"]
    status = await sandbox.status(f"sandbox-{code}")
    total = (await shop.runtime.services.get(Reservations).by_code(code)).total
    assert (status.state, status.amount, status.refunded) == ("paid", total, total)
    assert await shop.count(SandboxMovement, SandboxMovement.reservation_code == code) == 2
    assert sorted(e.amount for e in await shop.ledger(code)) == [-total, total]
    assert await shop.count(LedgerEntry, LedgerEntry.reservation_code == code) == 2
