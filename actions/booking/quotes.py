"""What can be booked and at what price: the properties, the offers for a stay, a product's
quote and the nearest free dates when nothing is free."""

from __future__ import annotations

import difflib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.booking.errors import InvalidStay, StayTooShort, TooManyGuests, Unavailable
from actions.booking.pricing import MinimumStayNotMet, Quote, RateRule, SeasonRule, quote
from actions.booking.tables import Inventory, Product, Property, Rate, Season
from bot.core.clock import Now
from bot.stores.database import Database
from intents.text import fold

CATALOG_SECONDS = 60.0
"""How long a property's rooms, seasons and rates are reused before they are read again."""
DEFAULT_TIMEZONE = "America/Sao_Paulo"
GENERIC_WORDS = {
    *("pousada", "hotel", "hostel", "chales", "eco", "tours"),
    *("do", "da", "de", "dos", "das", "e"),
}

_Catalog = tuple[Property, list[Product], list[SeasonRule], dict[int, list[RateRule]]]


@dataclass(frozen=True, slots=True)
class Offer:
    product: Product
    quote: Quote


class Quotes:
    def __init__(self, database: Database, clock: Now) -> None:
        self._database = database
        self._clock = clock
        self._catalogs: dict[int, tuple[float, _Catalog]] = {}
        self._names: tuple[float, list[tuple[Property, set[str]]]] = (0.0, [])

    async def properties(self) -> list[Property]:
        async with self._database.session() as session:
            found = await session.scalars(select(Property).order_by(Property.id))
            return list(found.unique())

    async def find_properties(self, text: str) -> list[Property]:
        """Properties whose name, distinctive name, slug or city the text names, best first
        ("serra azull" finds Hotel Serra Azul); names written exactly leave out the near ones."""
        words = fold(text).split()
        scored = []
        for place, names in await self._names_of_properties():
            best = max(
                _closeness(name, " ".join(words[start : start + len(name.split())]))
                for name in names
                for start in range(max(len(words), 1))
            )
            if best >= NAME_CLOSENESS:
                scored.append((best, place))
        if any(score == 1.0 for score, _ in scored):
            # a name written in full beats near misses ("para" is close to "Paraty")
            scored = [(score, place) for score, place in scored if score == 1.0]
        return [place for _, place in sorted(scored, key=lambda pair: -pair[0])]

    async def _names_of_properties(self) -> list[tuple[Property, set[str]]]:
        """Every property with the names it answers to, read at most once a minute like the
        catalogs: many messages are searched for a property's name (events, weather, forecasts),
        and a read per message queued them all on SQLite's one writer."""
        expires, named = self._names
        if expires <= time.monotonic():
            named = [(place, _names_of(place)) for place in await self.properties()]
            self._names = (time.monotonic() + CATALOG_SECONDS, named)
        return named

    async def property_by_slug(self, slug: str) -> Property | None:
        async with self._database.session() as session:
            return await session.scalar(select(Property).where(Property.slug == slug))

    async def offers(
        self, place_id: int, check_in: date, check_out: date, adults: int, children: int
    ) -> list[Offer]:
        """Every product of the property that fits the party and is free on every day; a stay
        shorter than the season's minimum raises StayTooShort."""
        check_stay(check_in, check_out, adults, children)
        async with self._database.session() as session:
            place, products, seasons, rates = await self._catalog(session, place_id)
            required = max([1, *(season.min_stay for season in seasons if season.covers(check_in))])
            if (check_out - check_in).days < required:
                raise StayTooShort(required)
            fitting = [p for p in products if adults <= p.max_adults and children <= p.max_children]
            ids = [product.id for product in fitting]
            free_units = func.min(Inventory.total - Inventory.taken)
            inventory = await session.execute(
                select(Inventory.product_id, func.count(), free_units)
                .where(
                    Inventory.product_id.in_(ids),
                    Inventory.day >= check_in,
                    Inventory.day < check_out,
                )
                .group_by(Inventory.product_id)
            )
            free = {product_id: (open_days, fewest) for product_id, open_days, fewest in inventory}
            found = []
            nights = (check_out - check_in).days
            for product in fitting:
                units = units_for(product, adults, children)
                days_open, fewest_free = free.get(product.id, (0, 0))
                if days_open != nights or fewest_free < units:
                    continue
                rules = rates.get(product.id, [])
                try:
                    price = price_of(place, product, rules, seasons, check_in, check_out, units)
                except (StayTooShort, Unavailable):
                    continue  # this product asks for a longer stay, or has no rate then
                found.append(Offer(product, price))
            return found

    async def quote(
        self, product_id: int, check_in: date, check_out: date, adults: int, children: int
    ) -> Offer:
        check_stay(check_in, check_out, adults, children)
        async with self._database.session() as session:
            product = await session.get_one(Product, product_id)
            place = await session.get_one(Property, product.property_id)
            check_party(product, adults, children)
            units = units_for(product, adults, children)
            seasons = await seasons_of(session, place.id)
            price = await price_in(session, place, product, seasons, check_in, check_out, units)
            return Offer(product, price)

    async def alternatives(
        self,
        place_id: int,
        check_in: date,
        check_out: date,
        adults: int,
        children: int,
        min_nights: int = 1,
    ) -> list[tuple[date, date, Offer]]:
        """The nearest stays that have a free product, each with its cheapest offer: the stay
        lengthened to ``min_nights`` (from the same check-in, then to the same check-out),
        then shifted stays of that length."""
        found: list[tuple[date, date, Offer]] = []
        today = local_today(self._clock(), None)
        for start, end in nearby_stays(check_in, check_out, min_nights):
            if start < today:
                continue
            try:
                offers = await self.offers(place_id, start, end, adults, children)
            except StayTooShort:
                continue
            if offers:
                found.append((start, end, min(offers, key=lambda o: o.quote.total)))
            if len(found) == 3:
                break
        return found

    async def _catalog(self, session: AsyncSession, place_id: int) -> _Catalog:
        """A property with its products, seasons and rates, read at most once a minute: every
        availability question needs them, and only the inventory changes from guest to guest."""
        cached = self._catalogs.get(place_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        place = await session.get_one(Property, place_id)
        products = (
            await session.scalars(
                select(Product).where(Product.property_id == place_id).order_by(Product.id)
            )
        ).all()
        rates: dict[int, list[RateRule]] = {}
        ids = [product.id for product in products]
        for rate in await session.scalars(select(Rate).where(Rate.product_id.in_(ids))):
            rates.setdefault(rate.product_id, []).append(
                RateRule(rate.season_id, rate.weekday, rate.amount)
            )
        catalog = (place, list(products), await seasons_of(session, place_id), rates)
        for loaded in (place, *products):
            session.expunge(loaded)  # kept as read, whatever later sessions roll back
        self._catalogs[place_id] = (time.monotonic() + CATALOG_SECONDS, catalog)
        return catalog


def nearby_stays(check_in: date, check_out: date, min_nights: int) -> list[tuple[date, date]]:
    """Stays near the one asked, nearest first, at least ``min_nights`` long, without it."""
    length = timedelta(days=max((check_out - check_in).days, min_nights))
    candidates = [(check_in, check_in + length), (check_out - length, check_out)]
    for shift in (1, -1, 2, -2, 3, -3, 7, -7):
        start = check_in + timedelta(days=shift)
        candidates.append((start, start + length))
    unique = dict.fromkeys(stay for stay in candidates if stay != (check_in, check_out))
    return list(unique)


def units_for(product: Product, adults: int, children: int) -> int:
    """A room is one unit whoever sleeps in it; a tour takes a seat per guest."""
    return adults + children if product.kind == "tour" else 1


def local_today(now: datetime, place: Property | None) -> date:
    """Today where the property is (where no property is named yet, the house's zone)."""
    return now.astimezone(ZoneInfo(place.timezone if place else DEFAULT_TIMEZONE)).date()


def check_stay(check_in: date, check_out: date, adults: int, children: int) -> None:
    if check_out <= check_in:
        raise InvalidStay("check-out must be after check-in")
    if adults < 1 or children < 0:
        raise TooManyGuests("at least one adult")


def check_party(product: Product, adults: int, children: int) -> None:
    if adults > product.max_adults or children > product.max_children:
        raise TooManyGuests(f"{product.code} takes {product.max_adults}+{product.max_children}")


async def seasons_of(session: AsyncSession, place_id: int) -> list[SeasonRule]:
    rows = await session.scalars(
        select(Season).where(Season.property_id == place_id).order_by(Season.id)
    )
    return [SeasonRule(s.id, s.name, s.starts_on, s.ends_on, s.min_stay) for s in rows]


async def price_in(
    session: AsyncSession,
    place: Property,
    product: Product,
    seasons: Sequence[SeasonRule],
    check_in: date,
    check_out: date,
    units: int,
) -> Quote:
    """The price with the product's rates as they are now (a hold must not use a cached one)."""
    rates = await session.scalars(select(Rate).where(Rate.product_id == product.id))
    rules = [RateRule(rate.season_id, rate.weekday, rate.amount) for rate in rates]
    return price_of(place, product, rules, seasons, check_in, check_out, units)


def price_of(
    place: Property,
    product: Product,
    rules: Sequence[RateRule],
    seasons: Sequence[SeasonRule],
    check_in: date,
    check_out: date,
    units: int,
) -> Quote:
    try:
        return quote(
            check_in,
            check_out,
            units,
            rules,
            seasons,
            product.min_stay,
            place.tax_percent,
            place.fee_per_stay,
            place.currency,
        )
    except MinimumStayNotMet as short:
        raise StayTooShort(short.required) from None
    except LookupError:
        raise Unavailable("no rate") from None


def _names_of(place: Property) -> set[str]:
    name = fold(place.name)
    distinctive = " ".join(word for word in name.split() if word not in GENERIC_WORDS)
    return {name, distinctive, fold(place.slug.replace("-", " ")), fold(place.city)} - {""}


NAME_CLOSENESS = 0.8
"""How close a phrase must be to a property's name to name it ("serra azull")."""


def _closeness(name: str, candidate: str) -> float:
    """The phrase's closeness to the name, or 0 when it cannot reach ``NAME_CLOSENESS`` (the
    cheap upper bounds rule most phrases out before the full comparison)."""
    if not candidate:
        return 0.0
    matcher = difflib.SequenceMatcher(None, name, candidate)
    if matcher.real_quick_ratio() < NAME_CLOSENESS or matcher.quick_ratio() < NAME_CLOSENESS:
        return 0.0
    return matcher.ratio()
