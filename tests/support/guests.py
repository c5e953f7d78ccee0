"""A runtime on real PostgreSQL and Redis for the guest-lifecycle and privacy tests, a guest
who talks to it turn by turn, bookings made through the services, and an inbox that receives
what the bot sends by itself (registered as the web channel's deliverer, as the widget is).

Registered as a pytest plugin by tests/conftest.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from actions.booking.holds import Guest, Holds
from actions.booking.quotes import Quotes
from actions.booking.reservations import Reservations
from actions.booking.tables import Reservation
from bot import Address, Reply
from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import Settings
from tests.support.databases import fresh_database
from tests.support.services import POSTGRESQL_URL, REDIS_URL
from tests.support.stays import DEMO_ZONE

LOCALES = ("pt-BR", "en", "es")
CATALOG_LOCALE = {"pt-BR": "pt_BR", "en": "en", "es": "es"}


def pousada_time(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment in the demo pousada's time zone."""
    return datetime.combine(day, time(hour, minute), DEMO_ZONE)


class Inbox:
    """What the bot sent each web conversation on its own, as the widget would show it."""

    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = defaultdict(list)

    async def deliver(self, address: Address, replies: Sequence[Reply]) -> bool:
        self.replies[address.conversation_id].extend(replies)
        return True

    def texts(self, conversation: str) -> list[str]:
        return [reply.text for reply in self.replies[conversation]]

    def buttons(self, conversation: str) -> list[str]:
        return [b.title for reply in self.replies[conversation] for b in reply.buttons]


@asynccontextmanager
async def running_bot(
    make_settings: Callable[..., Settings], **overrides: Any
) -> AsyncIterator[Runtime]:
    """The whole bot on a fresh PostgreSQL schema (and the test's emptied Redis), jobs not
    running: the tests run them when the clock says."""
    database = await fresh_database(POSTGRESQL_URL)
    await database.close()
    settings = make_settings(database_url=POSTGRESQL_URL, redis_url=REDIS_URL, **overrides)
    async with runtime_lifespan(build_runtime(settings), upkeep=False) as running:
        yield running


@pytest.fixture
async def stay_runtime(
    make_settings: Callable[..., Settings], redis: Redis
) -> AsyncIterator[Runtime]:
    async with running_bot(make_settings) as running:
        yield running


@pytest.fixture
def inbox(stay_runtime: Runtime) -> Inbox:
    received = Inbox()
    stay_runtime.notifier.register("web", received.deliver)
    return received


async def book(
    runtime: Runtime,
    conversation: str,
    locale: str,
    check_in: date,
    nights: int = 2,
    *,
    name: str = "Rita Alves",
    email: str = "rita@example.com",
    paid: bool = True,
) -> Reservation:
    """A reservation at the demo pousada made in the web chat ``conversation``, paid or held."""
    quotes = runtime.services.get(Quotes)
    place = await quotes.property_by_slug("pousada-do-mar")
    assert place is not None
    check_out = check_in + timedelta(days=nights)
    offers = await quotes.offers(place.id, check_in, check_out, 2, 0)
    held = await runtime.services.get(Holds).hold(
        offers[0].product.id,
        check_in,
        check_out,
        2,
        0,
        Guest(name, email),
        "web",
        conversation,
        CATALOG_LOCALE[locale],
        "test",
    )
    if not paid:
        return held
    reservation, _ = await runtime.services.get(Reservations).confirm_payment(held.code, "test")
    return reservation
