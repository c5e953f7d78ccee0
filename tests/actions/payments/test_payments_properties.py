"""Random stories of one shop's money, checked against the payments invariants after each step.

Guests book, ask for sandbox or Stripe links, pay (on the sandbox page, at Stripe), their
notifications come late, twice or out of order, browsers come back to return URLs, guests
cancel, staff approve or deny refunds, holds run out, and the process restarts (new service
objects over the same database). Whatever the order, ``actions.payments.invariants.check``
finds nothing. SQLite, the sandbox and the Stripe fake; a modest profile keeps it quick.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from actions.booking.errors import BookingError
from actions.booking.holds import Guest, Holds
from actions.booking.reservations import Reservations
from actions.booking.tables import Product, Property
from actions.payments.desk import PaymentsDesk
from actions.payments.invariants import check
from actions.payments.refunds import Refunds
from actions.payments.sandbox import SandboxCheckout, SandboxPayments
from actions.payments.service import PaymentService
from actions.payments.tables import Payment
from actions.payments.webhooks import WebhookInbox
from bot.root.app import Runtime, build_runtime, prepare_database
from bot.root.settings import Settings
from tests.fakes.stripe import FakeStripe
from tests.support.stays import off_season_stay

PROFILE = settings(
    max_examples=15,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class MoneyStories(RuleBasedStateMachine):
    reservations = Bundle("reservations")

    def __init__(
        self,
        make_settings: Callable[..., Settings],
        tmp_path: Path,
        clock: time_machine.Coordinates,
    ) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = clock
        self.stripe = self.run(FakeStripe().start())
        url = f"sqlite+aiosqlite:///{tmp_path}/{uuid.uuid4().hex}.db"
        self.settings = make_settings(
            database_url=url,
            refund_approval_above=300_00,
            stripe={
                "api_key": "sk_test_story",
                "webhook_secret": self.stripe.webhook_secret,
                "api_base": self.stripe.url,
            },
            payment={"routes": ["BRL=sandbox+stripe"], "gateway_timeout_seconds": 2.0},
        )
        self.runtime = self._start()
        self.run(prepare_database(self.runtime.database, self.runtime.now().date()))
        self.product_id = self.run(self._standard_room())
        self.webhooks: list[bytes] = []
        self.nights = 0

    # -- plumbing ------------------------------------------------------------------------------

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    def _start(self) -> Runtime:
        return build_runtime(self.settings)

    async def _standard_room(self) -> int:
        async with self.runtime.database.session() as session:
            found = await session.scalar(
                select(Product.id)
                .join(Property, Product.property_id == Property.id)
                .where(Property.slug == "pousada-do-mar", Product.code == "standard")
            )
            assert found is not None
            return int(found)

    def teardown(self) -> None:
        self.run(self._close())
        self.run(self.stripe.close())
        self.loop.close()

    async def _close(self) -> None:
        await self.runtime.services.get(WebhookInbox).drain()
        await self.runtime.partners.close()
        await self.runtime.database.close()

    def _token(self, code: str) -> str:
        return self.runtime.services.get(SandboxCheckout).link_for(code).rsplit("/", 1)[-1]

    def _desk(self) -> PaymentsDesk:
        return self.runtime.services.get(PaymentsDesk)

    def _sessions_of(self, code: str) -> list[str]:
        return [
            sid
            for sid, s in self.stripe.sessions.items()
            if s["metadata"]["reservation_code"] == code
        ]

    # -- what happens ----------------------------------------------------------------------------

    @initialize(target=reservations)
    def first_booking(self) -> str:
        return self.book()

    @rule(target=reservations)
    def book(self) -> str:
        first, _ = off_season_stay()
        check_in = first + timedelta(days=self.nights)
        self.nights += 3  # each stay its own nights: the rooms never run out
        check_out = check_in + timedelta(days=2)
        held = self.run(
            self.runtime.services.get(Holds).hold(
                self.product_id,
                check_in,
                check_out,
                2,
                0,
                Guest("Ana", "ana@example.com"),
                "test",
                f"conv-{uuid.uuid4().hex[:8]}",
                "pt_BR",
                "guest:test",
            )
        )
        return str(held.code)

    @rule(code=reservations, gateway=st.sampled_from(["sandbox", "stripe"]))
    def ask_for_a_link(self, code: str, gateway: str) -> None:
        async def link() -> None:
            try:
                reservation = await self.runtime.services.get(Reservations).begin_payment(
                    code, "guest:test"
                )
            except BookingError:
                return  # expired, cancelled or paid: the chat offers no link then
            await self.runtime.services.get(PaymentService).link_for(reservation, gateway)

        self.run(link())

    @rule(code=reservations)
    def pay_on_the_sandbox_page(self, code: str) -> None:
        page = self.runtime.services.get(SandboxPayments)
        self.run(page.pay(self._token(code)))

    @rule(code=reservations, notify=st.booleans())
    def pay_at_stripe(self, code: str, notify: bool) -> None:
        for session_id in self._sessions_of(code):
            if self.stripe.sessions[session_id]["status"] == "open":
                self.stripe.pay(session_id)
                self.webhooks.append(self.stripe.event("checkout.session.completed", session_id))
                if notify:
                    self.deliver_webhooks(twice=False)
                return

    @rule(twice=st.booleans())
    def deliver_webhooks(self, twice: bool) -> None:
        async def deliver() -> None:
            for body in self.webhooks * (2 if twice else 1):
                signed = {"Stripe-Signature": self.stripe.sign(body)}
                await self.runtime.services.get(WebhookInbox).receive("stripe", signed, body)
            await self.runtime.services.get(WebhookInbox).drain()

        self.run(deliver())
        self.webhooks.clear()

    @rule(code=reservations)
    def an_expiry_notice_out_of_order(self, code: str) -> None:
        for session_id in self._sessions_of(code):
            body = self.stripe.event("checkout.session.expired", session_id)
            self.webhooks.insert(0, body)

    @rule(code=reservations, gateway=st.sampled_from(["sandbox", "stripe"]))
    def come_back_to_the_return_url(self, code: str, gateway: str) -> None:
        self.run(self._desk().returned(gateway, self._token(code), {}))

    @rule(code=reservations)
    def cancel(self, code: str) -> None:
        async def cancel() -> None:
            try:
                done = await self.runtime.services.get(Reservations).cancel(code, "guest:test")
            except BookingError:
                return
            if done.refund > 0:  # as the chat's cancel action does
                await self.runtime.services.get(Refunds).request(
                    code, done.refund, "cancellation", "guest:test"
                )

        self.run(cancel())

    @rule(approve=st.booleans())
    def staff_decide_a_refund(self, approve: bool) -> None:
        async def decide() -> None:
            waiting = await self.runtime.services.get(Refunds).pending()
            if not waiting:
                return
            if approve:
                await self.runtime.services.get(Refunds).approve(waiting[0].id, "staff:test:story")
            else:
                await self.runtime.services.get(Refunds).deny(
                    waiting[0].id, "staff:test:story", "no"
                )

        self.run(decide())

    @rule()
    def holds_run_out(self) -> None:
        self.clock.shift(timedelta(minutes=20))
        self.run(self.runtime.services.get(Holds).expire_holds(self.runtime.metrics.loops))

    @rule()
    def restart(self) -> None:
        self.run(self._close())
        self.runtime = self._start()

    @invariant()
    def the_money_adds_up(self) -> None:
        r = self.runtime
        gateways = r.services.get(PaymentService).gateways
        violations = self.run(check(r.database, gateways, r.metrics.loops))
        assert violations == [], [str(v) for v in violations]

    @invariant()
    def no_open_link_on_a_paid_reservation(self) -> None:
        async def open_links() -> list[str]:
            async with self.runtime.database.session() as session:
                paid = select(Payment.reservation_code).where(Payment.status == "paid")
                rows = await session.scalars(
                    select(Payment.reservation_code).where(
                        Payment.status == "created", Payment.reservation_code.in_(paid)
                    )
                )
                return list(rows)

        assert self.run(open_links()) == []


def test_random_money_stories_keep_the_invariants(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    frozen_time: time_machine.Coordinates,
) -> None:
    run_state_machine_as_test(
        lambda: MoneyStories(make_settings, tmp_path, frozen_time), settings=PROFILE
    )


def test_the_stories_found_by_the_attack_run_keep_the_invariants(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    frozen_time: time_machine.Coordinates,
) -> None:
    """Paid on the sandbox page and at Stripe; cancelled unpaid, then back at the return URL."""
    story = MoneyStories(make_settings, tmp_path, frozen_time)
    try:
        twice, unpaid = story.first_booking(), story.book()
        story.ask_for_a_link(twice, "stripe")
        story.ask_for_a_link(twice, "sandbox")
        story.pay_at_stripe(twice, notify=False)
        story.pay_on_the_sandbox_page(twice)
        story.deliver_webhooks(twice=True)
        story.the_money_adds_up()
        story.ask_for_a_link(unpaid, "sandbox")
        story.cancel(unpaid)
        story.come_back_to_the_return_url(unpaid, "sandbox")
        story.restart()
        story.the_money_adds_up()
        story.no_open_link_on_a_paid_reservation()
    finally:
        story.teardown()
