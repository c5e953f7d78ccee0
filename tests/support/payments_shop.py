"""A bot with every gateway pointed at its local fake, on SQLite or PostgreSQL, a guest and a
staff member who talk to it through the engine, and the messages the Notifier pushes.

Registered as a pytest plugin by tests/conftest.py: ``open_shop`` opens shops with settings of a
test's own, ``shop`` and ``every_shop`` run a test on both databases (``shop_database``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from actions.alerts.desk import AlertDesk
from actions.booking.reservations import Reservations
from actions.payments.invariants import check as check_invariants
from actions.payments.service import PaymentService
from actions.payments.tables import LedgerEntry, Payment, WebhookEvent
from actions.payments.webhooks import WebhookInbox
from bot import Message, Reply
from bot.core.clock import Now, system_now
from bot.core.types import Address, Role
from bot.root.app import Runtime, build_runtime, create_app
from bot.root.settings import Settings
from tests.fakes.mercadopago import FakeMercadoPago
from tests.fakes.paypal import FakePayPal
from tests.fakes.stripe import FakeStripe
from tests.support.databases import database_url, fresh_database
from tests.support.stays import Stay, off_season_stay, spoken

CODE = re.compile(r"RSV-[A-Z0-9]{6}")
STAFF = Address("telegram", "room-1")
"""The staff's chat, where ``RSV_STAFF_ALERTS`` sends the payment alerts."""
ADMIN_KEY = "admin-key-for-tests"


@dataclass
class Chat:
    runtime: Runtime
    conversation: str
    channel: str = "test"
    role: Role = "guest"
    locale: str = "pt-BR"
    last: tuple[Reply, ...] = ()

    async def says(self, text: str) -> str:
        return await self._turn(text=text)

    async def presses(self, title: str) -> str:
        button = next(b for r in self.last for b in r.buttons if b.title.startswith(title))
        assert button.payload, f"{title} is a link button"
        return await self.sends(button.payload)

    async def sends(self, payload: str) -> str:
        return await self._turn(payload=payload)

    def link(self) -> str:
        return next(b.url for reply in self.last for b in reply.buttons if b.url)

    def buttons(self) -> list[str]:
        return [button.title for reply in self.last for button in reply.buttons]

    async def _turn(self, text: str | None = None, payload: str | None = None) -> str:
        result = await self.runtime.engine.handle(
            Message(
                self.channel,
                self.conversation,
                f"user-{self.conversation}",
                text=text,
                payload=payload,
                locale_hint=self.locale,
                role=self.role,
            )
        )
        assert result.status == "handled", result
        self.last = result.replies
        return "\n".join(reply.text for reply in result.replies)


@dataclass
class Shop:
    runtime: Runtime
    client: TestClient
    stripe: FakeStripe
    mp: FakeMercadoPago
    paypal: FakePayPal
    pushed: list[tuple[Address, Reply]] = field(default_factory=list)
    edited: list[tuple[Address, Reply]] = field(default_factory=list)
    """Alert messages replaced in place (a repeat, a resolve, an acknowledgement)."""
    broken_on_purpose: set[str] = field(default_factory=set)
    """Invariant rules a scenario breaks by design (money moved behind the bot's back): the
    check at the end of the scenario expects a violation of each, and no other."""

    def to(self, address: Address) -> list[Reply]:
        return [reply for where, reply in self.pushed if where == address]

    def guest_heard(self, conversation: str) -> list[str]:
        return [reply.text for reply in self.to(Address("test", conversation))]

    async def staff_heard(self) -> list[Reply]:
        """The alerts posted to the staff's chat, once their delivery jobs have run."""
        await self.runtime.jobs.settled()
        return self.to(STAFF)

    async def staff_saw_edited(self) -> list[Reply]:
        """The staff's alert messages as they were edited, in order."""
        await self.runtime.jobs.settled()
        return [reply for where, reply in self.edited if where == STAFF]

    def staff(self) -> Chat:
        """The staff member, in the room where the staff alerts go."""
        return Chat(self.runtime, STAFF.conversation_id, channel=STAFF.channel, role="staff")

    async def webhook(self, gateway: str, body: bytes, headers: dict[str, str]) -> int:
        response = await self.client.post(
            f"/webhooks/payments/{gateway}", data=body, headers=headers
        )
        return response.status

    async def settle(self) -> None:
        await self.runtime.services.get(WebhookInbox).drain()
        await self.runtime.jobs.settled()

    async def count(self, table: Any, *where: Any) -> int:
        async with self.runtime.database.session() as session:
            return int(
                await session.scalar(select(func.count()).select_from(table).where(*where)) or 0
            )

    async def ledger(self, code: str) -> list[LedgerEntry]:
        async with self.runtime.database.session() as session:
            rows = await session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.reservation_code == code)
                .order_by(LedgerEntry.id)
            )
            return list(rows)

    async def payment(self, code: str) -> Payment:
        async with self.runtime.database.session() as session:
            found = await session.scalar(
                select(Payment).where(Payment.reservation_code == code).order_by(Payment.id.desc())
            )
            assert found is not None
            return found

    async def events(self) -> int:
        return await self.count(WebhookEvent)

    async def book(self, conversation: str, stay: Stay | None = None) -> tuple[Chat, str]:
        """A guest books ``stay`` (two off-season nights by default) at the Pousada do Mar; the
        hold's code."""
        guest = Chat(self.runtime, conversation)
        dates = spoken(stay or off_season_stay(), "pt-BR")
        await guest.says(f"quero reservar na Pousada do Mar {dates}, somos um casal")
        await guest.presses("Quarto Standard")
        await guest.says("Maria Souza")
        await guest.says("maria@example.com")
        held = await guest.presses("Confirmar")
        found = CODE.search(held)
        assert found is not None, held
        return guest, found.group(0)

    async def pay_with(self, guest: Chat, label: str) -> str:
        """Pay now → the gateway's button → the link's reply."""
        choose = await guest.presses("Pagar agora")
        assert "Como você prefere pagar" in choose
        return await guest.presses(label)


async def paid_with(
    shop: Shop, conversation: str, label: str, stay: Stay | None = None
) -> tuple[Chat, str]:
    guest, code = await shop.book(conversation, stay)
    await shop.pay_with(guest, label)
    if label.startswith("Cartão"):
        session_id = guest.link().rsplit("/", 1)[-1]
        shop.stripe.pay(session_id)
        body = shop.stripe.event("checkout.session.completed", session_id)
        headers = {"Stripe-Signature": shop.stripe.sign(body)}
        assert await shop.webhook("stripe", body, headers) == 200
    elif label.startswith("Pix"):
        [pix_id] = [i for i, p in shop.mp.payments.items() if p["external_reference"] == code]
        shop.mp.pay(pix_id)
        body = shop.mp.notification(pix_id)
        assert await shop.webhook("mercadopago", body, shop.mp.sign(body)) == 200
    else:
        order_id = parse_qs(urlsplit(guest.link()).query)["token"][0]
        shop.paypal.approve(order_id)
        body = shop.paypal.event("CHECKOUT.ORDER.APPROVED", order_id)
        assert await shop.webhook("paypal", body, shop.paypal.sign(body)) == 200
    await shop.settle()
    assert (await shop.runtime.services.get(Reservations).by_code(code)).state == "confirmed"
    return guest, code


FORM = re.compile(r'name="form" value="([^"]+)"')
EVERY_GATEWAY = ["BRL=sandbox+stripe+mercadopago+paypal"]
TEST_PAYMENT = "Pagamento de teste"


async def pay_on_sandbox_page(shop: Shop, link: str) -> int:
    """The guest opens the sandbox page of ``link`` and presses pay; the answer's status."""
    path = urlsplit(link).path
    page = await shop.client.get(path)
    found = FORM.search(await page.text())
    assert found is not None
    response = await shop.client.post(
        f"{path}/pay", data={"form": found.group(1)}, allow_redirects=False
    )
    return response.status


async def return_to(shop: Shop, gateway: str, link: str) -> int:
    """The browser back at the return URL of ``gateway`` with the token of a sandbox ``link``
    (every return URL of a reservation carries the same signed token)."""
    token = urlsplit(link).path.rsplit("/", 1)[-1]
    response = await shop.client.get(f"/payments/return/{gateway}/{token}")
    return response.status


async def cancel(guest: Chat) -> str:
    assert "Cancelar" in await guest.says("quero cancelar minha reserva")
    return await guest.presses("Sim, cancelar")


def point_the_cli_at(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    """``rsv360`` run in this process reads the shop's settings (its database, its fakes)."""
    settings = shop.runtime.settings
    variables = {
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": settings.data_dir,
        "MODELS_DIR": settings.models_dir,
        "STRIPE_API_BASE": settings.stripe.api_base,
        "STRIPE_API_KEY": secret(settings.stripe.api_key),
        "STRIPE_WEBHOOK_SECRET": secret(settings.stripe.webhook_secret),
        "MERCADOPAGO_API_BASE": settings.mercadopago.api_base,
        "MERCADOPAGO_ACCESS_TOKEN": secret(settings.mercadopago.access_token),
        "MERCADOPAGO_WEBHOOK_SECRET": secret(settings.mercadopago.webhook_secret),
        "PAYPAL_API_BASE": settings.paypal.api_base,
        "PAYPAL_CLIENT_ID": settings.paypal.client_id,
        "PAYPAL_CLIENT_SECRET": secret(settings.paypal.client_secret),
        "PAYPAL_WEBHOOK_ID": settings.paypal.webhook_id,
    }
    for name, value in variables.items():
        monkeypatch.setenv(f"RSV_{name}", str(value))


def secret(value: SecretStr | None) -> str:
    assert value is not None, "the shop configures every gateway"
    return value.get_secret_value()


def shop_settings(
    make_settings: Callable[..., Settings],
    database_url: str,
    fakes: tuple[FakeStripe, FakeMercadoPago, FakePayPal],
    **extra: Any,
) -> Settings:
    stripe, mp, paypal = fakes
    values: dict[str, Any] = {
        "database_url": database_url,
        "stripe": {
            "api_key": "sk_test_shop",
            "webhook_secret": stripe.webhook_secret,
            "api_base": stripe.url,
        },
        "mercadopago": {
            "access_token": "TEST-shop",
            "webhook_secret": mp.webhook_secret,
            "api_base": mp.url,
        },
        "paypal": {
            "client_id": paypal.client_id,
            "client_secret": paypal.secret,
            "webhook_id": paypal.webhook_id,
            "api_base": paypal.url,
        },
        "payment": {"routes": ["BRL=stripe+mercadopago+paypal"], "gateway_timeout_seconds": 2.0},
        "staff_alerts": f"{STAFF.channel}:{STAFF.conversation_id}",
        "staff_ids": [f"{STAFF.channel}:user-{STAFF.conversation_id}"],
        "payments_admin_keys": [ADMIN_KEY],
        "refund_approval_above": 5_000_00,
    }
    for name, value in extra.items():  # a section given in part keeps the shop's other fields
        values[name] = {**values.get(name, {}), **value} if isinstance(value, dict) else value
    return make_settings(**values)


class StaffChat:
    """The staff's chat as the alert desk reaches a provider: it records what is posted and
    edited, and gives each message an id as Telegram does."""

    editable = True

    def __init__(self, shop: Shop) -> None:
        self._shop = shop

    async def post(self, conversation: str, reply: Reply) -> str | None:
        self._shop.pushed.append((Address(STAFF.channel, conversation), reply))
        return str(len(self._shop.pushed))

    async def edit(self, conversation: str, ref: str, reply: Reply) -> None:
        self._shop.edited.append((Address(STAFF.channel, conversation), reply))


ShopOpener = Callable[..., Awaitable[Shop]]
"""``await open_shop("sqlite" or "postgresql", now=clock, **settings)``: a shop on a fresh
database, living on ``clock`` (the wall clock by default)."""


@pytest.fixture
async def open_shop(
    aiohttp_client: Any, make_settings: Callable[..., Settings], tmp_path: Path
) -> AsyncIterator[ShopOpener]:
    """Shops with every gateway on its fake; after the test each is settled, the payments
    invariants are checked on it (only its ``broken_on_purpose`` rules may fail) and its fakes
    are stopped."""
    opened: list[Shop] = []

    async def open_one(backend: str, now: Now = system_now, **extra: Any) -> Shop:
        fakes = (FakeStripe(), FakeMercadoPago(), FakePayPal())
        for fake in fakes:
            await fake.start()
        url = database_url(backend, tmp_path)
        database = await fresh_database(url)
        await database.close()
        runtime = build_runtime(shop_settings(make_settings, url, fakes, **extra), now=now)
        client = await aiohttp_client(create_app(runtime.settings, runtime))
        shop = Shop(runtime, client, *fakes)

        async def recorder(address: Address, replies: Sequence[Reply]) -> bool:
            shop.pushed.extend((address, reply) for reply in replies)
            return True

        runtime.notifier.register("test", recorder)
        runtime.services.get(AlertDesk).register_chat(STAFF.channel, StaffChat(shop))
        opened.append(shop)
        # The upkeep's first round (run at start) finished: it cannot race what the test does.
        await shop.settle()
        return shop

    yield open_one
    for shop in opened:
        await close_shop(shop)


async def close_shop(shop: Shop) -> None:
    await shop.settle()
    violations = await check_invariants(
        shop.runtime.database,
        shop.runtime.services.get(PaymentService).gateways,
        shop.runtime.metrics.loops,
    )
    assert {v.rule for v in violations} == shop.broken_on_purpose, [str(v) for v in violations]
    for fake in (shop.stripe, shop.mp, shop.paypal):
        await fake.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def shop_database(request: pytest.FixtureRequest) -> str:
    """A test whose shop opens on this database runs on SQLite and again on PostgreSQL."""
    backend: str = request.param
    return backend


@pytest.fixture
async def shop(open_shop: ShopOpener, shop_database: str) -> Shop:
    return await open_shop(shop_database)


@pytest.fixture
async def every_shop(open_shop: ShopOpener, shop_database: str) -> Shop:
    """A shop whose guests choose among all four gateways, the sandbox page first."""
    return await open_shop(shop_database, payment={"routes": EVERY_GATEWAY})
