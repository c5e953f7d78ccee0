"""The booking domain: catalog search, availability and quotes, holds, payment and cancellation.

Inventory is taken with one conditional UPDATE per stay (``taken + units <= total`` on every
day), so two guests can never both get the last room: on PostgreSQL the rows are first locked
in day order (no deadlocks between overlapping stays), on SQLite writers are serialised.
"""

from __future__ import annotations

import difflib
import secrets
import string
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actions.booking.models import (
    Inventory,
    Product,
    Property,
    Rate,
    Reservation,
    ReservationEvent,
    Season,
)
from actions.booking.policy import CancellationPolicy
from actions.booking.pricing import MinimumStayNotMet, Quote, RateRule, SeasonRule, days, quote
from bot.database import Database
from bot.loops import LoopFailures
from intents.text import fold

CODE_ALPHABET = string.ascii_uppercase + string.digits
CATALOG_SECONDS = 60.0
"""How long a property's rooms, seasons and rates are reused before they are read again."""
HELD, PENDING, CONFIRMED, CANCELLED, EXPIRED = (
    "held",
    "pending_payment",
    "confirmed",
    "cancelled",
    "expired",
)
TRANSITIONS = {
    HELD: {PENDING, CONFIRMED, CANCELLED, EXPIRED},
    PENDING: {CONFIRMED, CANCELLED, EXPIRED},
    CONFIRMED: {CANCELLED},
    CANCELLED: set(),
    EXPIRED: set(),
}
ACTIVE = (HELD, PENDING)


class BookingError(Exception):
    """A request the booking domain refuses."""


class Unavailable(BookingError):
    """Sold out on at least one day, or not bookable on those dates."""


class TooManyGuests(BookingError):
    """The party does not fit the room (or has no adult)."""


class StayTooShort(BookingError):
    """Shorter than the minimum stay of the season or the product."""

    def __init__(self, required: int) -> None:
        super().__init__(f"minimum stay {required}")
        self.required = required


class InvalidStay(BookingError):
    """Check-out not after check-in."""


class HoldExpired(BookingError):
    """The hold ran out before the payment came."""


class IllegalTransition(BookingError):
    """The reservation's state does not allow that change."""


class NotFound(BookingError):
    """No reservation has that code."""


_Catalog = tuple[Property, list[Product], list[SeasonRule], dict[int, list[RateRule]]]


@dataclass(frozen=True, slots=True)
class Offer:
    product: Product
    quote: Quote


@dataclass(frozen=True, slots=True)
class Guest:
    name: str
    email: str
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Cancellation:
    reservation: Reservation
    refund_percent: int
    refund: int


def new_code() -> str:
    return "RSV-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def policy_of(place: Property) -> CancellationPolicy:
    return CancellationPolicy(
        place.free_cancel_days, place.partial_cancel_days, place.partial_refund_percent
    )


def units_for(product: Product, adults: int, children: int) -> int:
    """A room is one unit whoever sleeps in it; a tour takes a seat per guest."""
    return adults + children if product.kind == "tour" else 1


class BookingService:
    def __init__(
        self,
        database: Database,
        hold_minutes: int = 15,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._database = database
        self._hold = timedelta(minutes=hold_minutes)
        self._clock = clock
        self._catalogs: dict[int, tuple[float, _Catalog]] = {}

    # -- catalog ----------------------------------------------------------------------------

    async def properties(self) -> list[Property]:
        async with self._database.session() as session:
            found = await session.scalars(select(Property).order_by(Property.id))
            return list(found.unique())

    async def find_properties(self, text: str) -> list[Property]:
        """Properties whose name, distinctive name, slug or city the text names, best first
        ("serra azull" finds Hotel Serra Azul)."""
        words = fold(text).split()
        scored = []
        for place in await self.properties():
            best = max(
                _closeness(name, " ".join(words[start : start + len(name.split())]))
                for name in _names_of(place)
                for start in range(max(len(words), 1))
            )
            if best >= 0.8:
                scored.append((best, place))
        return [place for _, place in sorted(scored, key=lambda pair: -pair[0])]

    async def property_by_slug(self, slug: str) -> Property | None:
        async with self._database.session() as session:
            return await session.scalar(select(Property).where(Property.slug == slug))

    # -- availability and quotes ------------------------------------------------------------

    async def offers(
        self, place_id: int, checkin: date, checkout: date, adults: int, children: int
    ) -> list[Offer]:
        """Every product of the property that fits the party and is free on every day; a stay
        shorter than the season's minimum raises StayTooShort."""
        _check_stay(checkin, checkout, adults, children)
        async with self._database.session() as session:
            place, products, seasons, rates = await self._catalog(session, place_id)
            required = max([1, *(season.min_stay for season in seasons if season.covers(checkin))])
            if (checkout - checkin).days < required:
                raise StayTooShort(required)
            fitting = [p for p in products if adults <= p.max_adults and children <= p.max_children]
            ids = [product.id for product in fitting]
            free_units = func.min(Inventory.total - Inventory.taken)
            inventory = await session.execute(
                select(Inventory.product_id, func.count(), free_units)
                .where(
                    Inventory.product_id.in_(ids),
                    Inventory.day >= checkin,
                    Inventory.day < checkout,
                )
                .group_by(Inventory.product_id)
            )
            free = {product_id: (open_days, fewest) for product_id, open_days, fewest in inventory}
            found = []
            nights = (checkout - checkin).days
            for product in fitting:
                units = units_for(product, adults, children)
                days_open, fewest_free = free.get(product.id, (0, 0))
                if days_open != nights or fewest_free < units:
                    continue
                try:
                    price = self._price(place, product, rates.get(product.id, []), seasons,
                                        checkin, checkout, units)  # fmt: skip
                except (StayTooShort, Unavailable):
                    continue  # this product asks for a longer stay, or has no rate then
                found.append(Offer(product, price))
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
        catalog = (place, list(products), await self._seasons(session, place_id), rates)
        for loaded in (place, *products):
            session.expunge(loaded)  # kept as read, whatever later sessions roll back
        self._catalogs[place_id] = (time.monotonic() + CATALOG_SECONDS, catalog)
        return catalog

    async def quote(
        self, product_id: int, checkin: date, checkout: date, adults: int, children: int
    ) -> Offer:
        _check_stay(checkin, checkout, adults, children)
        async with self._database.session() as session:
            product = await session.get_one(Product, product_id)
            place = await session.get_one(Property, product.property_id)
            self._check_party(product, adults, children)
            units = units_for(product, adults, children)
            seasons = await self._seasons(session, place.id)
            return Offer(
                product,
                await self._quote(session, place, product, seasons, checkin, checkout, units),
            )

    async def alternatives(
        self, place_id: int, checkin: date, checkout: date, adults: int, children: int
    ) -> list[tuple[date, date, Offer]]:
        """The nearest shifted stays of the same length that have a free product."""
        length = checkout - checkin
        found = []
        for shift in (1, -1, 2, -2, 3, -3, 7, -7):
            start = checkin + timedelta(days=shift)
            if start < self._today(None):
                continue
            try:
                offers = await self.offers(place_id, start, start + length, adults, children)
            except StayTooShort:
                continue
            if offers:
                found.append((start, start + length, min(offers, key=lambda o: o.quote.total)))
            if len(found) == 3:
                break
        return found

    # -- reservations -------------------------------------------------------------------------

    async def hold(
        self,
        product_id: int,
        checkin: date,
        checkout: date,
        adults: int,
        children: int,
        guest: Guest,
        channel: str,
        conversation_id: str,
        locale: str,
        actor: str,
    ) -> Reservation:
        _check_stay(checkin, checkout, adults, children)
        now = self._clock()
        async with self._database.session() as session:
            product = await session.get_one(Product, product_id)
            place = await session.get_one(Property, product.property_id)
            self._check_party(product, adults, children)
            if checkin < self._today(place):
                raise Unavailable("check-in is in the past")
            units = units_for(product, adults, children)
            seasons = await self._seasons(session, place.id)
            price = await self._quote(session, place, product, seasons, checkin, checkout, units)
            await self._take(session, product_id, checkin, checkout, units)
            reservation = Reservation(
                property_id=place.id,
                product_id=product.id,
                checkin=checkin,
                checkout=checkout,
                units=units,
                adults=adults,
                children=children,
                guest_name=guest.name,
                email=guest.email,
                phone=guest.phone,
                channel=channel,
                conversation_id=conversation_id,
                locale=locale,
                state=HELD,
                currency=place.currency,
                total=price.total,
                quote=price.as_json(),
                hold_expires_at=now + self._hold,
                created_at=now,
                updated_at=now,
            )
            await self._insert_with_code(session, reservation)
            await session.refresh(reservation, ["property", "product"])
            session.add(ReservationEvent(reservation_id=reservation.id, at=now, from_state=None,
                                         to_state=HELD, actor=actor, note=None))  # fmt: skip
            return reservation

    async def begin_payment(self, code: str, actor: str) -> Reservation:
        async with self._database.session() as session:
            reservation = await self._locked(session, code)
            if reservation.state == PENDING:
                return reservation
            expired = await self._expire_if_due(session, reservation)
            if not expired:
                await self._transition(session, reservation, PENDING, actor)
                return reservation
        raise HoldExpired(code)  # after the commit: the expiry and the released rooms stay

    async def confirm_payment(self, code: str, actor: str) -> tuple[Reservation, bool]:
        """Confirm a paid reservation; False when it was already confirmed (a repeated payment
        notice). A hold that ran out is expired instead, and HoldExpired raised."""
        async with self._database.session() as session:
            reservation = await self._locked(session, code)
            if reservation.state == CONFIRMED:
                return reservation, False
            expired = await self._expire_if_due(session, reservation)
            if not expired:
                await self._transition(session, reservation, CONFIRMED, actor)
                reservation.hold_expires_at = None
                return reservation, True
        raise HoldExpired(code)  # after the commit: the expiry and the released rooms stay

    async def note(self, code: str, actor: str, note: str) -> Reservation:
        """Record something that happened to a reservation without changing its state."""
        async with self._database.session() as session:
            reservation = await self._by_code(session, code)
            session.add(ReservationEvent(reservation_id=reservation.id, at=self._clock(),
                                         from_state=reservation.state, to_state=reservation.state,
                                         actor=actor, note=note))  # fmt: skip
            return reservation

    async def cancellation_terms(self, code: str) -> Cancellation:
        async with self._database.session() as session:
            reservation = await self._by_code(session, code)
            return self._terms(reservation)

    async def cancel(self, code: str, actor: str) -> Cancellation:
        async with self._database.session() as session:
            reservation = await self._locked(session, code)
            terms = self._terms(reservation)
            await self._transition(session, reservation, CANCELLED, actor,
                                   note=f"refund due {terms.refund}")  # fmt: skip
            reservation.refund_due = terms.refund
            reservation.hold_expires_at = None
            await self._release(session, reservation)
            return terms

    async def expire_holds(self, loops: LoopFailures | None = None) -> list[Reservation]:
        """Expire every hold whose time is up and give its inventory back. Each hold has its
        own transaction: with ``loops``, one that cannot be released is counted and the others
        still go (else its error is raised)."""
        now = self._clock()
        async with self._database.session() as session:
            due = list(await session.scalars(
                select(Reservation.code)
                .where(Reservation.state.in_(ACTIVE), Reservation.hold_expires_at < now)
                .order_by(Reservation.product_id, Reservation.checkin)
            ))  # fmt: skip
        expired = []
        for code in due:
            with loops.isolated("hold_expiry") if loops else nullcontext():
                reservation = await self._expire_one(code, now)
                if reservation is not None:
                    expired.append(reservation)
        return expired

    async def _expire_one(self, code: str, now: datetime) -> Reservation | None:
        async with self._database.session() as session:
            query = select(Reservation).where(
                Reservation.code == code,
                Reservation.state.in_(ACTIVE),
                Reservation.hold_expires_at < now,
            )
            if not self._database.is_sqlite:  # another worker's sweep has it: that one releases
                query = query.with_for_update(skip_locked=True, of=Reservation)
            reservation = await session.scalar(query)
            if reservation is None:
                return None
            await self._transition(session, reservation, EXPIRED, "system:hold-expiry")
            await self._release(session, reservation)
            return reservation

    async def reservations_for(self, channel: str, conversation_id: str) -> list[Reservation]:
        async with self._database.session() as session:
            found = await session.scalars(
                select(Reservation)
                .where(
                    Reservation.channel == channel, Reservation.conversation_id == conversation_id
                )
                .order_by(Reservation.checkin.desc())
                .limit(10)
            )
            return list(found.unique())

    async def find(self, code: str, email: str) -> Reservation | None:
        """A reservation by its code AND the booking e-mail: a code alone reveals nothing."""
        async with self._database.session() as session:
            reservation = await session.scalar(
                select(Reservation).where(Reservation.code == code.upper())
            )
            if reservation is None or not secrets.compare_digest(
                reservation.email.lower().encode(), email.strip().lower().encode()
            ):
                return None
            return reservation

    async def by_code(self, code: str) -> Reservation:
        async with self._database.session() as session:
            return await self._by_code(session, code)

    async def history(self, code: str) -> list[ReservationEvent]:
        async with self._database.session() as session:
            reservation = await self._by_code(session, code)
            events = await session.scalars(
                select(ReservationEvent)
                .where(ReservationEvent.reservation_id == reservation.id)
                .order_by(ReservationEvent.id)
            )
            return list(events)

    # -- internals ----------------------------------------------------------------------------

    def _today(self, place: Property | None) -> date:
        zone = ZoneInfo(place.timezone if place else "America/Sao_Paulo")
        return self._clock().astimezone(zone).date()

    def _terms(self, reservation: Reservation) -> Cancellation:
        if reservation.state != CONFIRMED:
            return Cancellation(reservation, 0, 0)  # nothing was paid
        days_before = (reservation.checkin - self._today(reservation.property)).days
        percent = policy_of(reservation.property).refund_percent(days_before)
        return Cancellation(reservation, percent, reservation.total * percent // 100)

    @staticmethod
    def _check_party(product: Product, adults: int, children: int) -> None:
        if adults > product.max_adults or children > product.max_children:
            raise TooManyGuests(f"{product.code} takes {product.max_adults}+{product.max_children}")

    @staticmethod
    async def _seasons(session: AsyncSession, place_id: int) -> list[SeasonRule]:
        rows = await session.scalars(
            select(Season).where(Season.property_id == place_id).order_by(Season.id)
        )
        return [SeasonRule(s.id, s.name, s.starts_on, s.ends_on, s.min_stay) for s in rows]

    @staticmethod
    async def _quote(
        session: AsyncSession,
        place: Property,
        product: Product,
        seasons: Sequence[SeasonRule],
        checkin: date,
        checkout: date,
        units: int,
    ) -> Quote:
        rates = await session.scalars(select(Rate).where(Rate.product_id == product.id))
        rules = [RateRule(rate.season_id, rate.weekday, rate.amount) for rate in rates]
        return BookingService._price(place, product, rules, seasons, checkin, checkout, units)

    @staticmethod
    def _price(
        place: Property,
        product: Product,
        rules: Sequence[RateRule],
        seasons: Sequence[SeasonRule],
        checkin: date,
        checkout: date,
        units: int,
    ) -> Quote:
        try:
            return quote(checkin, checkout, units, rules, seasons, product.min_stay,
                         place.tax_percent, place.fee_per_stay, place.currency)  # fmt: skip
        except MinimumStayNotMet as short:
            raise StayTooShort(short.required) from None
        except LookupError:
            raise Unavailable("no rate") from None

    async def _take(
        self, session: AsyncSession, product_id: int, checkin: date, checkout: date, units: int
    ) -> None:
        stay_filter = (
            Inventory.product_id == product_id,
            Inventory.day >= checkin,
            Inventory.day < checkout,
        )
        if not self._database.is_sqlite:
            await session.execute(
                select(Inventory.day).where(*stay_filter).order_by(Inventory.day).with_for_update()
            )
        taken = await session.execute(
            update(Inventory)
            .where(*stay_filter, Inventory.taken + units <= Inventory.total)
            .values(taken=Inventory.taken + units)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], taken).rowcount != len(days(checkin, checkout)):
            raise Unavailable("sold out on at least one day")

    @staticmethod
    async def _release(session: AsyncSession, reservation: Reservation) -> None:
        await session.execute(
            update(Inventory)
            .where(
                Inventory.product_id == reservation.product_id,
                Inventory.day >= reservation.checkin,
                Inventory.day < reservation.checkout,
            )
            .values(taken=Inventory.taken - reservation.units)
            .execution_options(synchronize_session=False)
        )

    @staticmethod
    async def _insert_with_code(session: AsyncSession, reservation: Reservation) -> None:
        for _ in range(5):
            reservation.code = new_code()
            try:
                async with session.begin_nested():
                    session.add(reservation)
                    await session.flush()
                return
            except IntegrityError:
                continue
        raise RuntimeError("could not find a free reservation code")

    async def _locked(self, session: AsyncSession, code: str) -> Reservation:
        query = select(Reservation).where(Reservation.code == code.upper())
        if not self._database.is_sqlite:
            query = query.with_for_update(of=Reservation)
        reservation = await session.scalar(query)
        if reservation is None:
            raise NotFound(code)
        return reservation

    @staticmethod
    async def _by_code(session: AsyncSession, code: str) -> Reservation:
        reservation = await session.scalar(
            select(Reservation).where(Reservation.code == code.upper())
        )
        if reservation is None:
            raise NotFound(code)
        return reservation

    async def _expire_if_due(self, session: AsyncSession, reservation: Reservation) -> bool:
        """Expire an active reservation whose hold ran out, before the sweeper gets to it."""
        due = (
            reservation.state in ACTIVE
            and reservation.hold_expires_at is not None
            and _aware(reservation.hold_expires_at) <= self._clock()
        )
        if due:
            now = self._clock()
            session.add(ReservationEvent(reservation_id=reservation.id, at=now,
                                         from_state=reservation.state, to_state=EXPIRED,
                                         actor="system:hold-expiry", note=None))  # fmt: skip
            reservation.state, reservation.updated_at = EXPIRED, now
            await self._release(session, reservation)
        return due

    async def _transition(
        self,
        session: AsyncSession,
        reservation: Reservation,
        to_state: str,
        actor: str,
        note: str | None = None,
    ) -> None:
        if to_state not in TRANSITIONS[reservation.state]:
            raise IllegalTransition(f"{reservation.state} → {to_state}")
        now = self._clock()
        session.add(ReservationEvent(reservation_id=reservation.id, at=now,
                                     from_state=reservation.state, to_state=to_state,
                                     actor=actor, note=note))  # fmt: skip
        reservation.state, reservation.updated_at = to_state, now


def _check_stay(checkin: date, checkout: date, adults: int, children: int) -> None:
    if checkout <= checkin:
        raise InvalidStay("check-out must be after check-in")
    if adults < 1 or children < 0:
        raise TooManyGuests("at least one adult")


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


GENERIC_WORDS = {"pousada", "hotel", "hostel", "chales", "eco", "tours", "do", "da", "de", "dos",
                 "das", "e"}  # fmt: skip


def _names_of(place: Property) -> set[str]:
    name = fold(place.name)
    distinctive = " ".join(word for word in name.split() if word not in GENERIC_WORDS)
    return {name, distinctive, fold(place.slug.replace("-", " ")), fold(place.city)} - {""}


def _closeness(name: str, candidate: str) -> float:
    return difflib.SequenceMatcher(None, name, candidate).ratio() if candidate else 0.0
