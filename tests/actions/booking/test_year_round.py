"""The date-sensitive scenarios on days that stress the calendar: New Year's Day, Carnaval
season, the eve of July's high season, the first of December, Christmas Eve and New Year's Eve.

The clock is frozen on each day in turn; every stay is built from the property's own rules (its
seasons, their minimum stays, its cancellation windows), so a scenario means the same thing on
every day it runs, and what it expects is computed from the calendar, not from the code under
test.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time, timedelta

import holidays
import pytest
import time_machine
from sqlalchemy import select

from actions.booking.holds import Guest, Holds
from actions.booking.quotes import Quotes
from actions.booking.reservations import Reservations, policy_of
from actions.booking.tables import Inventory, Property
from actions.forecasts.questions import read_question
from actions.forecasts.reach import HORIZON
from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import Settings
from intents.classifier import NluModel
from intents.entities import EntityExtractor
from intents.understanding import ModelUnderstanding
from tests.support.payments_shop import Chat, Shop, ShopOpener, cancel, paid_with
from tests.support.stays import (
    DEMO_ZONE,
    Window,
    high_season_stay,
    minimum_stay,
    off_season_stay,
    spoken,
    stay_in_window,
)

DAYS = [
    date(2027, 1, 1),
    date(2027, 2, 10),
    date(2027, 6, 30),
    date(2026, 12, 1),
    date(2026, 12, 24),
    date(2026, 12, 31),
]
WINDOWS: tuple[Window, ...] = ("free", "partial", "none")


@pytest.fixture(params=DAYS, ids=str)
def today(request: pytest.FixtureRequest, frozen_time: time_machine.Coordinates) -> date:
    """The frozen day, ten in the morning at the properties."""
    day: date = request.param
    frozen_time.move_to(datetime.combine(day, time(10, 0), DEMO_ZONE))
    return day


@pytest.fixture
async def runtime(today: date, make_settings: Callable[..., Settings]) -> AsyncIterator[Runtime]:
    """A bot seeded on the frozen day, as if it had first started then."""
    async with runtime_lifespan(build_runtime(make_settings()), upkeep=False) as running:
        yield running


@pytest.fixture
async def shop(today: date, open_shop: ShopOpener) -> Shop:
    """A shop opened on the frozen day."""
    return await open_shop("sqlite")


def next_on_or_after(today: date, month: int, day: int) -> date:
    this_year = date(today.year, month, day)
    return this_year if this_year >= today else date(today.year + 1, month, day)


def next_weekday(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def month_after(today: date) -> tuple[date, date]:
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, 1), date(year, month, monthrange(year, month)[1])


async def test_relative_dates_are_read_from_today(today: date, intent_model: NluModel) -> None:
    reading = ModelUnderstanding(intent_model, EntityExtractor(), lambda: today)
    new_year, saturday = next_on_or_after(today, 12, 30), next_weekday(today, 5)
    expected = {
        "tem vaga amanhã por 2 noites?": (today + timedelta(days=1), today + timedelta(days=3)),
        "quero reservar de 30/12 a 2/1": (new_year, date(new_year.year + 1, 1, 2)),
        "vaga para o fim de semana": (saturday, saturday + timedelta(days=2)),
        "book from Christmas for 3 nights": (
            next_on_or_after(today, 12, 25),
            next_on_or_after(today, 12, 25) + timedelta(days=3),
        ),
        "reserva daqui a 2 semanas por 2 noites": (
            today + timedelta(days=14),
            today + timedelta(days=16),
        ),
        "quiero reservar del 31 de diciembre al 2 de enero": (
            next_on_or_after(today, 12, 31),
            date(next_on_or_after(today, 12, 31).year + 1, 1, 2),
        ),
    }
    for text, stay in expected.items():
        entities = (await reading.parse(text, "pt_BR")).entities
        check_in = date.fromisoformat(entities["checkin"])
        check_out = entities.get("checkout")
        nights = entities.get("nights")
        read = (check_out and date.fromisoformat(check_out)) or check_in + timedelta(days=nights)
        assert (check_in, read) == stay, text


def test_forecast_periods_are_counted_from_today(today: date) -> None:
    first, last = today + timedelta(days=1), today + timedelta(days=HORIZON)

    next_month = read_question("previsão de ocupação do mês que vem", "pt-BR", today)
    assert (next_month.start, next_month.end) == month_after(today)

    holiday = read_question("preço sugerido pro feriado", "pt-BR", today)
    calendar = holidays.country_holidays("BR", years=(today.year, today.year + 1))
    upcoming = min(day for day in calendar if day > today)
    assert holiday.holiday == upcoming
    assert max(first, upcoming - timedelta(days=1)) == holiday.start
    assert holiday.end == upcoming + timedelta(days=1)

    december = read_question("previsão de ocupação de dezembro", "pt-BR", today)
    starts = date(today.year if today < date(today.year, 12, 31) else today.year + 1, 12, 1)
    if starts <= last:
        assert december.start == max(first, starts)
        assert december.end == min(date(starts.year, 12, 31), last)
    else:  # beyond the models' reach: said so, and a period they can answer for
        assert december.clipped
        assert first <= december.start <= december.end <= last


async def test_the_minimum_stay_of_the_season_is_asked_for_and_then_offered(
    today: date, runtime: Runtime
) -> None:
    check_in, check_out = high_season_stay(today)
    required = (check_out - check_in).days
    guest = Chat(runtime, "min-stay", channel="web")
    wish = "quero reservar na Pousada do Mar {}, somos um casal"
    if required > 1:
        refused = await guest.says(
            wish.format(spoken((check_in, check_out - timedelta(1)), "pt-BR"))
        )
        assert f"estadia mínima é de {required} noites" in refused
    offers = await guest.says(wish.format(spoken((check_in, check_out), "pt-BR")))
    assert "Quarto Standard" in " ".join(guest.buttons()), offers


async def test_a_hold_is_released_when_its_minutes_run_out(
    today: date, runtime: Runtime, frozen_time: time_machine.Coordinates
) -> None:
    check_in, check_out = off_season_stay(today)
    place = await runtime.services.get(Quotes).property_by_slug("pousada-do-mar")
    assert place is not None
    [offer, *_] = await runtime.services.get(Quotes).offers(place.id, check_in, check_out, 2, 0)
    held = await runtime.services.get(Holds).hold(
        offer.product.id,
        check_in,
        check_out,
        2,
        0,
        Guest("Rita", "rita@example.com"),
        "web",
        "hold",
        "pt_BR",
        "test",
    )

    frozen_time.shift(timedelta(minutes=runtime.settings.hold_minutes - 1))
    assert await runtime.services.get(Holds).expire_holds() == []
    frozen_time.shift(timedelta(minutes=2))
    assert [r.code for r in await runtime.services.get(Holds).expire_holds()] == [held.code]
    assert await runtime.services.get(Holds).expire_holds() == []
    async with runtime.database.session() as session:
        taken = await session.scalars(
            select(Inventory.taken).where(
                Inventory.product_id == offer.product.id,
                Inventory.day >= check_in,
                Inventory.day < check_out,
            )
        )
        assert set(taken) == {0}


async def test_cancelling_refunds_what_the_policy_window_gives(today: date, shop: Shop) -> None:
    async with shop.runtime.database.session() as session:
        place = await session.scalar(select(Property).where(Property.slug == "pousada-do-mar"))
        assert place is not None
        policy = policy_of(place)
    for window in WINDOWS:
        stay = stay_in_window(policy, window, today)
        days_before = (stay[0] - today).days
        percent = policy.refund_percent(days_before)
        assert minimum_stay(stay[0], today) == (stay[1] - stay[0]).days
        guest, code = await paid_with(shop, f"cancel-{window}", "Cartão (Stripe)", stay)
        total = (await shop.runtime.services.get(Reservations).by_code(code)).total
        await cancel(guest)
        cancelled = await shop.runtime.services.get(Reservations).by_code(code)
        assert (cancelled.state, cancelled.refund_due) == ("cancelled", total * percent // 100)
        kept = total - total * percent // 100
        assert held_by_stripe(shop, code) == kept, (window, days_before)
        assert sum(entry.amount for entry in await shop.ledger(code)) == kept


def held_by_stripe(shop: Shop, code: str) -> int:
    """What the Stripe fake holds for a reservation: its paid intents less their refunds."""
    intents = {
        session["payment_intent"]
        for session in shop.stripe.sessions.values()
        if session["metadata"]["reservation_code"] == code and session["payment_intent"]
    }
    paid = sum(shop.stripe.intents[intent]["amount"] for intent in intents)
    refunds = shop.stripe.refunds.values()
    return paid - sum(refund["amount"] for refund in refunds if refund["payment_intent"] in intents)
