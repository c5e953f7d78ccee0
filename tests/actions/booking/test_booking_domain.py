"""The booking domain on both databases: quotes, minimum stays, occupancy, availability, holds and
their expiry, the reservation state machine and its audit trail, cancellation refunds (on the
property's calendar), look-ups by code and e-mail, catalog search, seeding and inventory upkeep.

Every test gets an empty database migrated with Alembic (so the migration is exercised on SQLite
and PostgreSQL alike) and, where exact figures matter, a small catalog of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, func, select, update

import actions.booking.tables
import actions.payments.tables  # noqa: F401  (and the payments tables, dropped with them)
from actions.booking.catalog import demo_seasons, extend_inventory, seed
from actions.booking.errors import (
    BookingError,
    HoldExpired,
    IllegalTransition,
    StayTooShort,
    TooManyGuests,
    Unavailable,
)
from actions.booking.holds import WARNING_ACTOR, Guest, Holds, new_code
from actions.booking.pricing import RateRule, SeasonRule
from actions.booking.pricing import quote as price
from actions.booking.quotes import Quotes
from actions.booking.reservations import Reservations
from actions.booking.tables import Inventory, Product, Property, Rate, Reservation, Season
from actions.tables import Base
from bot.stores import migrations
from bot.stores.database import Database
from tests.support.clock import Clock

CODE = re.compile(r"^RSV-[A-Z0-9]{6}$")

NOW = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
"""A Monday afternoon; it is 12:00 of the same day in São Paulo."""
TODAY = date(2027, 3, 1)
INVENTORY_DAYS = 60
SEASON_START, SEASON_END = date(2027, 3, 20), date(2027, 3, 23)
"""A Saturday to a Tuesday, minimum stay 3 nights."""
FRIDAY, SATURDAY = 4, 5
GUEST = Guest("Ana Souza", "Ana.Souza@Example.com", "+55 11 99999-0000")


# -- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def quotes(database: Database, clock: Clock) -> Quotes:
    return Quotes(database, clock)


@pytest.fixture
def holds(database: Database, clock: Clock) -> Holds:
    return Holds(database, hold_minutes=15, clock=clock)


@pytest.fixture
def reservations(database: Database, clock: Clock) -> Reservations:
    return Reservations(database, clock)


@dataclass(frozen=True)
class Catalog:
    place: int
    std: int
    """A room, one unit: base 100.10, Fri/Sat 120.00, season 150.00, season Saturday 200.00."""
    family: int
    """A room, three units, minimum stay 3 nights."""
    boat: int
    """A tour, 200 seats a day, 50.00 a guest."""
    double: int
    """A room, five units, 200.00 a night."""


async def build_catalog(database: Database, **place_fields: object) -> Catalog:
    fields: dict[str, object] = {
        "slug": "pousada-teste",
        "name": "Pousada Teste",
        "kind": "pousada",
        "city": "Cunha",
        "timezone": "America/Sao_Paulo",
        "tax_percent": 5,
        "fee_per_stay": 4000,
        "free_cancel_days": 7,
        "partial_cancel_days": 2,
        "partial_refund_percent": 50,
    }
    fields.update(place_fields)
    async with database.session() as session:
        place = Property(**fields)
        session.add(place)
        await session.flush()
        season = Season(
            property_id=place.id,
            name="Feriado",
            starts_on=SEASON_START,
            ends_on=SEASON_END,
            min_stay=3,
        )
        std = Product(
            property_id=place.id,
            code="std",
            kind="room",
            names={"en": "Standard"},
            units=1,
            max_adults=2,
            max_children=1,
        )
        family = Product(
            property_id=place.id,
            code="family",
            kind="room",
            names={"en": "Family"},
            units=3,
            max_adults=4,
            max_children=2,
            min_stay=3,
        )
        boat = Product(
            property_id=place.id,
            code="boat",
            kind="tour",
            names={"en": "Boat"},
            units=200,
            max_adults=10,
            max_children=5,
        )
        double = Product(
            property_id=place.id,
            code="double",
            kind="room",
            names={"en": "Double"},
            units=5,
            max_adults=2,
            max_children=0,
        )
        session.add_all([season, std, family, boat, double])
        await session.flush()
        session.add_all(
            [
                Rate(product_id=std.id, season_id=None, weekday=None, amount=10010),
                Rate(product_id=std.id, season_id=None, weekday=FRIDAY, amount=12000),
                Rate(product_id=std.id, season_id=None, weekday=SATURDAY, amount=12000),
                Rate(product_id=std.id, season_id=season.id, weekday=None, amount=15000),
                Rate(product_id=std.id, season_id=season.id, weekday=SATURDAY, amount=20000),
                Rate(product_id=family.id, season_id=None, weekday=None, amount=30000),
                Rate(product_id=boat.id, season_id=None, weekday=None, amount=5000),
                Rate(product_id=double.id, season_id=None, weekday=None, amount=20000),
            ]
        )
        ids = Catalog(place.id, std.id, family.id, boat.id, double.id)
    await extend_inventory(database, TODAY, days=INVENTORY_DAYS)
    return ids


@pytest.fixture
async def catalog(database: Database) -> Catalog:
    return await build_catalog(database)


async def taken_by_day(database: Database, product_id: int) -> dict[date, int]:
    async with database.session() as session:
        rows = await session.execute(
            select(Inventory.day, Inventory.taken).where(Inventory.product_id == product_id)
        )
        return {day: taken for day, taken in rows}


async def inventory_rows(database: Database) -> int:
    async with database.session() as session:
        return await session.scalar(select(func.count()).select_from(Inventory)) or 0


async def sell_out(database: Database, day: date) -> None:
    async with database.session() as session:
        await session.execute(
            update(Inventory).where(Inventory.day == day).values(taken=Inventory.total)
        )


def d(day: int) -> date:
    """A day of March 2027."""
    return date(2027, 3, day)


async def hold(
    holds: Holds,
    product_id: int,
    check_in: date,
    check_out: date,
    adults: int = 2,
    children: int = 0,
    guest: Guest = GUEST,
    conversation: str = "conv-a",
    channel: str = "web",
) -> Reservation:
    return await holds.hold(
        product_id,
        check_in,
        check_out,
        adults,
        children,
        guest,
        channel,
        conversation,
        "pt_BR",
        f"guest:{channel}",
    )


def aware(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


# -- the schema -------------------------------------------------------------------------------


async def test_the_migration_builds_the_schema_the_models_describe(database: Database) -> None:
    assert await migrations.is_current(database)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as connection:
        assert await connection.run_sync(differences) == []
    await migrations.upgrade(database)  # a second upgrade is a no-op
    assert await migrations.is_current(database)


# -- quotes -----------------------------------------------------------------------------------


async def test_a_quote_prices_every_night_with_its_most_specific_rate(
    quotes: Quotes, catalog: Catalog
) -> None:
    offer = await quotes.quote(catalog.std, d(18), d(22), 2, 1)
    nights = [(night.day, night.amount, night.season) for night in offer.quote.nights]
    assert nights == [
        (d(18), 10010, None),  # Thursday: the base rate
        (d(19), 12000, None),  # Friday: the weekend rate
        (d(20), 20000, "Feriado"),  # a Saturday in the season: season and weekday
        (d(21), 15000, "Feriado"),  # a Sunday in the season: the season rate
    ]
    assert offer.quote.subtotal == 57010
    assert offer.quote.taxes == 2851  # 5 % of 570.10 is 28.505: half up to 28.51
    assert offer.quote.fees == 4000
    assert offer.quote.total == 57010 + 2851 + 4000
    assert offer.quote.currency == "BRL"
    assert all(isinstance(value, int) for value in (offer.quote.total, offer.quote.taxes))
    assert offer.quote.as_json()["nights"][2] == ["2027-03-20", 20000, "Feriado"]


async def test_a_tour_is_priced_per_guest(quotes: Quotes, catalog: Catalog) -> None:
    offer = await quotes.quote(catalog.boat, d(10), d(11), 2, 1)
    assert offer.quote.units == 3
    assert [night.amount for night in offer.quote.nights] == [15000]
    assert (offer.quote.subtotal, offer.quote.taxes, offer.quote.fees) == (15000, 750, 4000)
    assert offer.quote.total == 19750
    room = await quotes.quote(catalog.std, d(10), d(11), 2, 1)
    assert room.quote.units == 1  # a room is one unit whoever sleeps in it
    assert room.quote.subtotal == 10010


@pytest.mark.parametrize(
    ("subtotal", "percent", "taxes"),
    [(10010, 5, 501), (10009, 5, 500), (10030, 5, 502), (1, 50, 1), (3, 10, 0), (0, 10, 0)],
)
def test_taxes_are_rounded_half_up_to_the_centavo(subtotal: int, percent: int, taxes: int) -> None:
    quote = price(d(1), d(2), 1, [RateRule(None, None, subtotal)], [], 1, percent, 0, "BRL")
    assert (quote.subtotal, quote.taxes, quote.total) == (subtotal, taxes, subtotal + taxes)


@pytest.mark.parametrize("order", [1, -1])
def test_where_seasons_overlap_the_narrowest_sets_the_rate(order: int) -> None:
    summer = SeasonRule(1, "Alta temporada", d(1), d(31), 2)
    new_year = SeasonRule(2, "Réveillon", d(10), d(14), 4)
    rates = [RateRule(None, None, 100), RateRule(1, None, 130), RateRule(2, None, 180)]
    quote = price(d(9), d(13), 1, rates, [summer, new_year][::order], 1, 0, 0, "BRL")
    assert [night.season for night in quote.nights] == ["Alta temporada", *["Réveillon"] * 3]
    assert quote.subtotal == 130 + 3 * 180


def test_the_demo_summer_runs_to_the_last_day_of_february_in_leap_years() -> None:
    summers = {
        start.year: end
        for name, start, end, _, _ in demo_seasons(date(2027, 6, 1))
        if name == "Alta temporada"
    }
    assert summers[2027] == date(2028, 2, 29)
    assert summers[2026] == date(2027, 2, 28)


async def test_offers_list_the_free_products_that_fit_with_their_quotes(
    quotes: Quotes, catalog: Catalog
) -> None:
    offers = await quotes.offers(catalog.place, d(8), d(10), 2, 0)
    # family asks for 3 nights: left out of a 2-night search
    assert [offer.product.code for offer in offers] == ["std", "boat", "double"]
    assert [offer.quote.total for offer in offers] == [
        20020 + 1001 + 4000,
        2 * 2 * 5000 + 1000 + 4000,
        40000 + 2000 + 4000,
    ]
    longer = await quotes.offers(catalog.place, d(8), d(11), 2, 0)
    assert "family" in [offer.product.code for offer in longer]


# -- minimum stay -----------------------------------------------------------------------------


async def test_a_season_minimum_stay_is_refused_in_offers_and_quotes(
    quotes: Quotes, catalog: Catalog
) -> None:
    with pytest.raises(StayTooShort) as short:
        await quotes.offers(catalog.place, SEASON_START, SEASON_START + timedelta(days=2), 2, 0)
    assert short.value.required == 3
    with pytest.raises(StayTooShort) as short:
        await quotes.quote(catalog.std, SEASON_START, SEASON_START + timedelta(days=2), 2, 0)
    assert short.value.required == 3
    three = await quotes.offers(catalog.place, SEASON_START, SEASON_START + timedelta(days=3), 2, 0)
    assert "std" in [offer.product.code for offer in three]


async def test_a_products_own_minimum_stay(
    quotes: Quotes, holds: Holds, catalog: Catalog, database: Database
) -> None:
    with pytest.raises(StayTooShort) as short:
        await quotes.quote(catalog.family, d(8), d(10), 2, 0)
    assert short.value.required == 3
    assert (await quotes.quote(catalog.family, d(8), d(11), 2, 0)).quote.subtotal == 90000
    with pytest.raises(StayTooShort):
        await hold(holds, catalog.family, d(8), d(10))
    assert set((await taken_by_day(database, catalog.family)).values()) == {0}


# -- occupancy --------------------------------------------------------------------------------


async def test_a_party_that_does_not_fit_is_refused(
    quotes: Quotes, holds: Holds, catalog: Catalog, database: Database
) -> None:
    for adults, children in [(3, 0), (2, 2), (0, 1), (0, 0), (1, -1)]:
        with pytest.raises(TooManyGuests):
            await quotes.quote(catalog.std, d(8), d(10), adults, children)
        with pytest.raises(TooManyGuests):
            await hold(holds, catalog.std, d(8), d(10), adults, children)
    offers = await quotes.offers(catalog.place, d(8), d(11), 3, 0)
    assert [offer.product.code for offer in offers] == ["family", "boat"]
    offers = await quotes.offers(catalog.place, d(8), d(11), 2, 1)
    assert [offer.product.code for offer in offers] == ["std", "family", "boat"]
    assert set((await taken_by_day(database, catalog.std)).values()) == {0}


async def test_offers_refuse_a_party_without_an_adult(quotes: Quotes, catalog: Catalog) -> None:
    for adults, children in [(0, 1), (0, 0), (1, -1)]:
        try:
            found = await quotes.offers(catalog.place, d(8), d(10), adults, children)
        except TooManyGuests:
            found = []
        assert found == []


async def test_a_stay_that_ends_before_it_starts_is_a_booking_error(
    quotes: Quotes, holds: Holds, catalog: Catalog
) -> None:
    for check_out in (d(10), d(9)):
        with pytest.raises(BookingError):
            await quotes.quote(catalog.std, d(10), check_out, 2, 0)
        with pytest.raises(BookingError):
            await hold(holds, catalog.std, d(10), check_out)


# -- availability -----------------------------------------------------------------------------


async def test_a_sold_out_day_excludes_a_product(
    quotes: Quotes, holds: Holds, catalog: Catalog, database: Database
) -> None:
    async with database.session() as session:
        await session.execute(
            update(Inventory)
            .where(Inventory.product_id == catalog.std, Inventory.day == d(9))
            .values(taken=1)
        )
    codes = [offer.product.code for offer in await quotes.offers(catalog.place, d(8), d(10), 2, 0)]
    assert codes == ["boat", "double"]
    codes = [offer.product.code for offer in await quotes.offers(catalog.place, d(10), d(12), 2, 0)]
    assert codes == ["std", "boat", "double"]  # the checkout day is not a night
    with pytest.raises(Unavailable):
        await hold(holds, catalog.std, d(8), d(10))


async def test_alternatives_are_shifted_stays_that_are_free(
    quotes: Quotes, catalog: Catalog, database: Database
) -> None:
    await sell_out(database, d(10))
    assert await quotes.offers(catalog.place, d(9), d(11), 2, 0) == []
    found = await quotes.alternatives(catalog.place, d(9), d(11), 2, 0)
    assert [(start, end) for start, end, _ in found] == [
        (d(8), d(10)),
        (d(11), d(13)),
        (d(7), d(9)),
    ]
    for start, end, offer in found:
        assert [night.day for night in offer.quote.nights] == [start, start + timedelta(days=1)]
        free = await quotes.offers(catalog.place, start, end, 2, 0)
        assert offer.product.id in [other.product.id for other in free]
        assert offer.quote.total == min(other.quote.total for other in free)  # the cheapest


async def test_alternatives_never_start_in_the_past(
    quotes: Quotes, catalog: Catalog, database: Database
) -> None:
    await sell_out(database, d(2))
    found = await quotes.alternatives(catalog.place, d(2), d(3), 2, 0)
    starts = [start for start, _, _ in found]
    assert d(1) in starts
    assert all(start >= TODAY for start in starts)


async def test_a_stay_beyond_the_inventory_window_is_unavailable_and_takes_nothing(
    quotes: Quotes, holds: Holds, catalog: Catalog, database: Database
) -> None:
    last = TODAY + timedelta(days=INVENTORY_DAYS - 1)
    assert await quotes.offers(catalog.place, last, last + timedelta(days=2), 2, 0) == []
    with pytest.raises(Unavailable):
        await hold(holds, catalog.double, last, last + timedelta(days=2))
    assert (await taken_by_day(database, catalog.double))[last] == 0  # the partial take rolled back
    with pytest.raises(Unavailable):
        await hold(holds, catalog.double, TODAY - timedelta(days=1), TODAY + timedelta(days=1))


# -- holds ------------------------------------------------------------------------------------


async def test_a_hold_takes_inventory_and_the_last_room_goes_once(
    holds: Holds, catalog: Catalog, database: Database
) -> None:
    first = await hold(holds, catalog.std, d(8), d(10))
    assert first.state == "held"
    assert CODE.match(first.code)
    assert first.total == 20020 + 1001 + 4000
    assert first.quote["total"] == first.total
    assert aware(first.hold_expires_at) == NOW + timedelta(minutes=15)
    taken = await taken_by_day(database, catalog.std)
    assert (taken[d(7)], taken[d(8)], taken[d(9)], taken[d(10)]) == (0, 1, 1, 0)
    with pytest.raises(Unavailable):
        await hold(holds, catalog.std, d(9), d(11), guest=Guest("Bruno", "b@example.com"))
    assert (await taken_by_day(database, catalog.std))[d(10)] == 0
    after = await hold(holds, catalog.std, d(10), d(12))  # checkout day is free
    assert after.code != first.code


async def test_hold_codes_have_the_format_and_are_unique(
    holds: Holds, catalog: Catalog, database: Database
) -> None:
    codes = [(await hold(holds, catalog.boat, d(15), d(16), 1)).code for _ in range(200)]
    assert all(CODE.match(code) for code in codes)
    assert len(set(codes)) == 200
    assert (await taken_by_day(database, catalog.boat))[d(15)] == 200
    with pytest.raises(Unavailable):
        await hold(holds, catalog.boat, d(15), d(16), 1)
    assert all(CODE.match(new_code()) for _ in range(1000))


async def test_a_hold_expires_by_itself(
    holds: Holds, reservations: Reservations, catalog: Catalog, database: Database, clock: Clock
) -> None:
    held = await hold(holds, catalog.std, d(8), d(10))
    clock.advance(minutes=14, seconds=59)
    assert await holds.expire_holds() == []
    assert (await reservations.by_code(held.code)).state == "held"
    clock.advance(seconds=2)
    expired = await holds.expire_holds()
    assert [reservation.code for reservation in expired] == [held.code]
    assert (await reservations.by_code(held.code)).state == "expired"
    assert set((await taken_by_day(database, catalog.std)).values()) == {0}
    last = (await reservations.history(held.code))[-1]
    assert (last.from_state, last.to_state, last.actor) == ("held", "expired", "system:hold-expiry")
    assert aware(last.at) == clock.now
    assert await holds.expire_holds() == []  # a second sweep releases nothing twice
    assert set((await taken_by_day(database, catalog.std)).values()) == {0}
    await hold(holds, catalog.std, d(8), d(10))  # the room can be sold again


async def test_a_hold_is_warned_about_once_before_it_runs_out(
    holds: Holds, reservations: Reservations, catalog: Catalog, clock: Clock
) -> None:
    held = await hold(holds, catalog.std, d(8), d(10))
    soon = timedelta(minutes=5)
    clock.advance(minutes=9, seconds=59)
    assert await holds.warn_expiring(soon) == []
    clock.advance(seconds=2)
    assert [r.code for r in await holds.warn_expiring(soon)] == [held.code]
    assert await holds.warn_expiring(soon) == []  # once, whoever sweeps again
    last = (await reservations.history(held.code))[-1]
    assert (last.from_state, last.to_state, last.actor) == ("held", "held", WARNING_ACTOR)
    assert (await reservations.by_code(held.code)).state == "held"
    clock.advance(minutes=6)
    assert await holds.warn_expiring(soon) == []  # ran out: the expiry tells the guest


async def test_a_pending_payment_expires_too(
    holds: Holds, reservations: Reservations, catalog: Catalog, database: Database, clock: Clock
) -> None:
    held = await hold(holds, catalog.std, d(8), d(10))
    await reservations.begin_payment(held.code, "guest:web")
    clock.advance(minutes=16)
    assert [r.code for r in await holds.expire_holds()] == [held.code]
    assert set((await taken_by_day(database, catalog.std)).values()) == {0}


@pytest.mark.parametrize("step", ["confirm_payment", "begin_payment"])
async def test_paying_an_expired_hold_raises_hold_expired(
    holds: Holds, reservations: Reservations, catalog: Catalog, clock: Clock, step: str
) -> None:
    held = await hold(holds, catalog.std, d(8), d(10))
    clock.advance(minutes=15, seconds=1)
    with pytest.raises(HoldExpired):
        await getattr(reservations, step)(held.code, "payments:webhook")
    assert (await reservations.by_code(held.code)).state in ("held", "expired")  # never paid


@pytest.mark.parametrize("step", ["confirm_payment", "begin_payment"])
async def test_paying_an_expired_hold_expires_it_and_releases_the_room(
    holds: Holds,
    reservations: Reservations,
    catalog: Catalog,
    database: Database,
    clock: Clock,
    step: str,
) -> None:
    """HoldExpired must be raised after the unit of work commits: raised inside it, the expiry
    and the released rooms were rolled back (the room stayed taken until the next sweep)."""
    held = await hold(holds, catalog.std, d(8), d(10))
    clock.advance(minutes=15, seconds=1)
    with pytest.raises(HoldExpired):
        await getattr(reservations, step)(held.code, "payments:webhook")
    assert set((await taken_by_day(database, catalog.std)).values()) == {0}
    assert (await reservations.by_code(held.code)).state == "expired"
    last = (await reservations.history(held.code))[-1]
    assert (last.to_state, last.actor) == ("expired", "system:hold-expiry")


async def test_an_overdue_hold_is_released_by_the_sweep_after_a_late_payment(
    holds: Holds, reservations: Reservations, catalog: Catalog, database: Database, clock: Clock
) -> None:
    held = await hold(holds, catalog.std, d(8), d(10))
    clock.advance(minutes=20)
    with pytest.raises(HoldExpired):
        await reservations.confirm_payment(held.code, "payments:webhook")
    await holds.expire_holds()
    assert (await reservations.by_code(held.code)).state == "expired"
    assert set((await taken_by_day(database, catalog.std)).values()) == {0}
    with pytest.raises(IllegalTransition):  # a payment after the sweep
        await reservations.confirm_payment(held.code, "payments:webhook")


async def test_payment_steps_are_idempotent(
    holds: Holds, reservations: Reservations, catalog: Catalog, database: Database, clock: Clock
) -> None:
    held = await hold(holds, catalog.std, d(8), d(10))
    clock.advance(minutes=1)
    first = await reservations.begin_payment(held.code, "guest:web")
    again = await reservations.begin_payment(held.code.lower(), "guest:web")
    assert (first.state, again.state) == ("pending_payment", "pending_payment")
    clock.advance(minutes=1)
    confirmed, changed = await reservations.confirm_payment(held.code, "payments:webhook")
    assert (confirmed.state, changed) == ("confirmed", True)
    assert confirmed.hold_expires_at is None
    repeated, changed = await reservations.confirm_payment(held.code, "payments:webhook")
    assert (repeated.state, changed, repeated.code) == ("confirmed", False, held.code)
    states = [(e.from_state, e.to_state) for e in await reservations.history(held.code)]
    assert states == [(None, "held"), ("held", "pending_payment"), ("pending_payment", "confirmed")]
    clock.advance(days=1)  # a confirmed reservation never expires
    assert await holds.expire_holds() == []
    assert (await taken_by_day(database, catalog.std))[d(8)] == 1


async def test_a_hold_can_be_confirmed_directly(
    holds: Holds, reservations: Reservations, catalog: Catalog
) -> None:
    held = await hold(holds, catalog.std, d(8), d(10))
    confirmed, changed = await reservations.confirm_payment(held.code, "payments:webhook")
    assert (confirmed.state, changed) == ("confirmed", True)


# -- the state machine and the audit trail ----------------------------------------------------


async def test_illegal_transitions_are_refused(
    holds: Holds, reservations: Reservations, catalog: Catalog, database: Database, clock: Clock
) -> None:
    expired = await hold(holds, catalog.double, d(8), d(10))
    clock.advance(minutes=16)
    await holds.expire_holds()
    cancelled = await hold(holds, catalog.double, d(8), d(10))
    await reservations.cancel(cancelled.code, "guest:web")
    confirmed = await hold(holds, catalog.double, d(8), d(10))
    await reservations.confirm_payment(confirmed.code, "payments:webhook")
    attempts = [
        (reservations.cancel, expired.code),
        (reservations.begin_payment, expired.code),
        (reservations.confirm_payment, expired.code),
        (reservations.begin_payment, cancelled.code),
        (reservations.confirm_payment, cancelled.code),
        (reservations.cancel, cancelled.code),
        (reservations.begin_payment, confirmed.code),
    ]
    for step, code in attempts:
        with pytest.raises(IllegalTransition):
            await step(code, "staff:ana")
    assert (await reservations.by_code(expired.code)).state == "expired"
    assert (await reservations.by_code(cancelled.code)).state == "cancelled"
    assert (await reservations.by_code(confirmed.code)).state == "confirmed"
    # only the confirmed one still holds a room, and an illegal step released nothing
    assert (await taken_by_day(database, catalog.double))[d(8)] == 1


async def test_the_history_lists_every_change_with_its_actor(
    holds: Holds, reservations: Reservations, catalog: Catalog, clock: Clock
) -> None:
    held = await hold(holds, catalog.std, d(20), d(23))
    clock.advance(minutes=1)
    await reservations.begin_payment(held.code, "guest:web")
    clock.advance(minutes=1)
    await reservations.confirm_payment(held.code, "payments:webhook")
    await reservations.note(held.code, "staff:ana", "late arrival, around 23:00")
    clock.advance(days=1)
    terms = await reservations.cancel(held.code, "staff:ana")
    events = await reservations.history(held.code)
    assert [(e.from_state, e.to_state, e.actor, e.note) for e in events] == [
        (None, "held", "guest:web", None),
        ("held", "pending_payment", "guest:web", None),
        ("pending_payment", "confirmed", "payments:webhook", None),
        ("confirmed", "confirmed", "staff:ana", "late arrival, around 23:00"),
        ("confirmed", "cancelled", "staff:ana", f"refund due {terms.refund}"),
    ]
    moments = [aware(e.at) for e in events]
    assert moments == [
        NOW,
        NOW + timedelta(minutes=1),
        NOW + timedelta(minutes=2),
        NOW + timedelta(minutes=2),
        NOW + timedelta(days=1, minutes=2),
    ]


# -- cancellation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "percent"),
    [
        # check-in 15 March; São Paulo is UTC-3: 02:30 UTC is still the previous day there
        (datetime(2027, 3, 8, 3, 30, tzinfo=UTC), 100),  # 7 days before
        (datetime(2027, 3, 9, 2, 30, tzinfo=UTC), 100),  # still 7 days
        (datetime(2027, 3, 9, 3, 30, tzinfo=UTC), 50),  # 6 days
        (datetime(2027, 3, 14, 2, 30, tzinfo=UTC), 50),  # still 2 days
        (datetime(2027, 3, 14, 3, 30, tzinfo=UTC), 0),  # 1 day
        (datetime(2027, 3, 16, 12, 0, tzinfo=UTC), 0),  # after check-in
    ],
)
async def test_the_refund_counts_days_on_the_propertys_calendar(
    holds: Holds,
    reservations: Reservations,
    catalog: Catalog,
    database: Database,
    clock: Clock,
    moment: datetime,
    percent: int,
) -> None:
    held = await hold(holds, catalog.std, d(15), d(17))
    await reservations.confirm_payment(held.code, "payments:webhook")
    clock.now = moment
    terms = await reservations.cancellation_terms(held.code)
    assert (terms.refund_percent, terms.refund) == (percent, held.total * percent // 100)
    cancelled = await reservations.cancel(held.code, "guest:web")
    assert (cancelled.refund_percent, cancelled.refund) == (percent, terms.refund)
    stored = await reservations.by_code(held.code)
    assert (stored.state, stored.refund_due) == ("cancelled", terms.refund)
    assert set((await taken_by_day(database, catalog.std)).values()) == {0}


async def test_the_day_boundary_follows_the_propertys_time_zone(
    database: Database, clock: Clock
) -> None:
    """The same instant is a day earlier in Manaus (UTC-4) than in São Paulo (UTC-3)."""
    east = await build_catalog(database)
    west = await build_catalog(
        database, slug="pousada-oeste", name="Pousada Oeste", timezone="America/Manaus"
    )
    holds, reservations = Holds(database, clock=clock), Reservations(database, clock)
    codes = []
    for place in (east, west):
        held = await hold(holds, place.double, d(15), d(17))
        await reservations.confirm_payment(held.code, "payments:webhook")
        codes.append(held.code)
    clock.now = datetime(2027, 3, 9, 3, 30, tzinfo=UTC)  # 9 March in São Paulo, 8th in Manaus
    east_terms, west_terms = [await reservations.cancellation_terms(code) for code in codes]
    assert (east_terms.refund_percent, west_terms.refund_percent) == (50, 100)


async def test_an_unpaid_reservation_refunds_nothing_and_gives_the_room_back(
    holds: Holds, reservations: Reservations, catalog: Catalog, database: Database
) -> None:
    held = await hold(holds, catalog.std, d(20), d(23))
    pending = await hold(holds, catalog.double, d(20), d(23))
    await reservations.begin_payment(pending.code, "guest:web")
    for code, product in ((held.code, catalog.std), (pending.code, catalog.double)):
        terms = await reservations.cancellation_terms(code)
        assert (terms.refund_percent, terms.refund) == (0, 0)
        cancelled = await reservations.cancel(code, "guest:web")
        assert cancelled.refund == 0
        stored = await reservations.by_code(code)
        assert (stored.state, stored.refund_due, stored.hold_expires_at) == ("cancelled", 0, None)
        assert set((await taken_by_day(database, product)).values()) == {0}


# -- look-ups ---------------------------------------------------------------------------------


async def test_a_reservation_is_found_by_its_code_and_email_only(
    holds: Holds, reservations: Reservations, catalog: Catalog
) -> None:
    ana = await hold(holds, catalog.double, d(8), d(10))
    bruno = await hold(
        holds,
        catalog.double,
        d(8),
        d(10),
        guest=Guest("Bruno", "bruno@x.com"),
        conversation="conv-b",
    )
    found = await reservations.find(ana.code, "ana.souza@example.com")
    assert found is not None
    assert (found.code, found.property.slug, found.product.code) == (
        ana.code,
        "pousada-teste",
        "double",
    )
    assert (await reservations.find(ana.code.lower(), "  ANA.SOUZA@EXAMPLE.COM ")) is not None
    assert await reservations.find(ana.code, "bruno@x.com") is None
    assert await reservations.find(bruno.code, GUEST.email) is None
    assert await reservations.find(ana.code, "") is None
    assert await reservations.find(ana.code, "ana.souza@example.co") is None
    assert await reservations.find("RSV-ZZZZZZ", GUEST.email) is None
    bruno_found = await reservations.find(bruno.code, "Bruno@X.com")
    assert bruno_found is not None
    assert bruno_found.guest_name == "Bruno"


async def test_a_conversation_lists_only_its_reservations(
    holds: Holds, reservations: Reservations, catalog: Catalog
) -> None:
    mine = [await hold(holds, catalog.double, d(day), d(day + 2)) for day in (8, 12)]
    await hold(holds, catalog.double, d(8), d(10), conversation="conv-b")
    await hold(holds, catalog.double, d(8), d(10), channel="whatsapp")
    listed = await reservations.reservations_for("web", "conv-a")
    assert [r.code for r in listed] == [mine[1].code, mine[0].code]  # latest check-in first
    assert await reservations.reservations_for("web", "conv-z") == []
    assert [r.channel for r in await reservations.reservations_for("whatsapp", "conv-a")] == [
        "whatsapp"
    ]


# -- the catalog ------------------------------------------------------------------------------


SEARCHES = [
    ("serra azull", ["hotel-serra-azul"]),
    ("quero ficar no Hotel Serra Azul", ["hotel-serra-azul"]),
    ("ubatuba", ["pousada-do-mar"]),
    ("paraty", ["eco-tours-paraty", "pousada-sol-nascente"]),
    ("Paraty!", ["eco-tours-paraty", "pousada-sol-nascente"]),
    ("qwxz blorp", []),
    ("", []),
]


async def test_properties_are_found_by_name_or_city(database: Database) -> None:
    assert await seed(database, TODAY)
    quotes = Quotes(database, Clock(NOW))
    for words, slugs in SEARCHES:
        found = await quotes.find_properties(words)
        assert sorted(place.slug for place in found) == slugs, words


async def test_the_demo_seed_is_idempotent(database: Database) -> None:
    assert await seed(database, TODAY) is True
    quotes = Quotes(database, Clock(NOW))
    places = await quotes.properties()
    rows = await inventory_rows(database)
    assert [place.slug for place in places] == [
        "pousada-do-mar",
        "pousada-sol-nascente",
        "hotel-serra-azul",
        "eco-tours-paraty",
    ]
    assert rows == 9 * 400
    assert await seed(database, TODAY) is False
    assert len(await quotes.properties()) == 4
    assert await inventory_rows(database) == rows
    mar = await quotes.property_by_slug("pousada-do-mar")
    assert mar is not None
    offers = await quotes.offers(mar.id, d(8), d(10), 2, 0)
    assert [offer.product.code for offer in offers] == ["standard", "ocean-view", "family-chalet"]


async def test_extending_the_inventory_keeps_existing_days_and_what_is_taken(
    holds: Holds, catalog: Catalog, database: Database
) -> None:
    before = await inventory_rows(database)
    assert before == 4 * INVENTORY_DAYS
    await hold(holds, catalog.std, d(8), d(10))
    assert await extend_inventory(database, TODAY, days=INVENTORY_DAYS) == 0
    assert await inventory_rows(database) == before
    later = TODAY + timedelta(days=10)
    assert await extend_inventory(database, later, days=INVENTORY_DAYS) == 4 * 10
    assert await inventory_rows(database) == before + 4 * 10
    taken = await taken_by_day(database, catalog.std)
    assert len(taken) == INVENTORY_DAYS + 10
    assert (taken[d(8)], taken[d(9)], sum(taken.values())) == (1, 1, 2)
    async with database.session() as session:
        duplicates = await session.scalar(
            select(func.count()).select_from(
                select(Inventory.product_id, Inventory.day)
                .group_by(Inventory.product_id, Inventory.day)
                .having(func.count() > 1)
                .subquery()
            )
        )
    assert duplicates == 0
