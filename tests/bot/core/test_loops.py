"""A loop over independent items goes on past one that always fails: the webhook retries, the
hold expiry, the proactive delivery and the reconciliation. Each failure is counted in
``rsv_loop_item_failures_total{loop=...}``. A loop told to stop stops, even one whose Redis
call swallowed the cancellation."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy import update

from actions.booking.holds import Holds
from actions.booking.reservations import Reservations
from actions.booking.tables import Inventory, Reservation
from actions.payments.reconcile import reconcile
from actions.payments.service import PaymentService
from actions.payments.tables import WebhookEvent
from actions.payments.webhooks import WebhookInbox
from bot.core.loops import cancel_and_wait
from bot.core.types import Reply
from bot.outbound.delivery import Pace
from tests.fakes.base import Fault
from tests.support.delivery_line import LineFactory
from tests.support.payments_shop import (
    Shop,
)
from tests.support.stays import off_season_stay


def failures(registry: CollectorRegistry, loop: str) -> float:
    return registry.get_sample_value("rsv_loop_item_failures_total", {"loop": loop}) or 0.0


async def stored_event(shop: Shop, gateway: str, event_id: str, reference: str) -> None:
    """An event left unapplied 30 s ago: too recent for the shop's own periodic retry (it takes
    those a minute old), which would otherwise race the test's retry."""
    async with shop.runtime.database.session() as session:
        session.add(
            WebhookEvent(
                gateway=gateway,
                event_id=event_id,
                kind="checkout",
                reference=reference,
                received_at=datetime.now(UTC) - timedelta(seconds=30),
            )
        )


async def test_webhook_retries_go_past_a_poisoned_event(shop: Shop) -> None:
    guest, code = await shop.book("w1")
    await shop.pay_with(guest, "Cartão (Stripe)")
    session_id = guest.link().rsplit("/", 1)[-1]
    shop.stripe.pay(session_id)
    # First an event of a gateway since removed from the settings, then one whose gateway is
    # down (logged with its row id: structlog's own "event" must not be passed), then the good.
    await stored_event(shop, "retired", "evt-retired", "whatever")
    await stored_event(shop, "stripe", "evt-down", "cs_unknown")
    await stored_event(shop, "stripe", "evt-good", session_id)
    shop.stripe.fail(Fault(503, path="/v1/checkout/sessions/cs_unknown"))

    assert await shop.runtime.services.get(WebhookInbox).retry_unapplied(older_than_seconds=10) == 3

    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "confirmed"
    assert await shop.count(WebhookEvent, WebhookEvent.applied_at.is_(None)) == 2
    assert failures(shop.runtime.metrics.registry, "webhook_retry") == 1


async def test_hold_expiry_goes_past_a_hold_that_cannot_be_released(shop: Shop) -> None:
    _, poisoned = await shop.book("h1")
    _, healthy = await shop.book("h2", off_season_stay(off_season_stay()[1], lead_days=3))
    gone = datetime.now(UTC) - timedelta(minutes=1)
    async with shop.runtime.database.session() as session:
        await session.execute(update(Reservation).values(hold_expires_at=gone))
        first = await session.get_one(Reservation, 1)
        assert first.code == poisoned
        # A count broken by hand: giving the poisoned hold's rooms back would go below zero.
        await session.execute(
            update(Inventory)
            .where(Inventory.product_id == first.product_id, Inventory.day == first.check_in)
            .values(taken=0)
        )

    expired = await shop.runtime.services.get(Holds).expire_holds(shop.runtime.metrics.loops)

    assert [r.code for r in expired] == [healthy]
    assert (await shop.runtime.services.get(Reservations).by_code(poisoned)).state != "expired"
    assert failures(shop.runtime.metrics.registry, "hold_expiry") == 1


async def test_delivery_goes_past_a_message_the_provider_refuses(
    line: LineFactory,
) -> None:
    paced = line(Pace(per_destination_seconds=0.0))
    paced.fake.fail("sendMessage", 400)

    assert await paced.queue.put("5001", [Reply("refused"), Reply("delivered")])
    await paced.queue.join()

    assert [call.params["text"] for call in paced.fake.sent("sendMessage", "5001")] == ["delivered"]
    assert failures(paced.metrics.registry, "delivery") == 1


async def test_reconcile_goes_past_a_payment_whose_answer_cannot_be_read(shop: Shop) -> None:
    first, first_code = await shop.book("r1")
    await shop.pay_with(first, "Cartão (Stripe)")
    unreadable = first.link().rsplit("/", 1)[-1]
    second, second_code = await shop.book("r2")
    await shop.pay_with(second, "Cartão (Stripe)")
    lost = second.link().rsplit("/", 1)[-1]
    shop.stripe.pay(lost)  # paid, the notification never came
    shop.stripe.fail(
        Fault(200, body={"object": "list"}, path=f"/v1/checkout/sessions/{unreadable}")
    )

    differences = await reconcile(
        shop.runtime.database, shop.runtime.services.get(PaymentService), shop.runtime.now()
    )
    found = {difference.reservation_code: difference.note for difference in differences}

    assert found == {
        first_code: "could not be checked",
        second_code: "paid at the gateway, missing in the ledger",
    }
    assert failures(shop.runtime.metrics.registry, "reconcile") == 1


async def test_a_loop_that_swallows_a_cancellation_is_still_stopped() -> None:
    swallowed: list[int] = []

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(1)  # what Python 3.11's wait_for does in a race

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task), 5)
    assert swallowed
    assert task.cancelled()


async def test_loops_over_redis_stop_wherever_the_cancellation_lands(redis: Redis) -> None:
    async def renewing() -> None:
        while True:
            await redis.set("rsv:test:renewed", "1", px=1000)

    chance = random.Random(7)
    for _ in range(60):
        task = asyncio.create_task(renewing())
        await asyncio.sleep(chance.random() * 0.005)
        # Generous for a loaded machine: a single cancel leaves about half of them running on.
        await asyncio.wait_for(cancel_and_wait(task), 30)
        assert task.done()
