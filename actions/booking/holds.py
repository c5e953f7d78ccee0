"""Inventory holds: a stay's rooms taken for a new reservation, given back when it ends.

Inventory is taken with one conditional UPDATE per stay (``taken + units <= total`` on every
day), so two guests can never both get the last room: on PostgreSQL the rows are first locked
in day order (no deadlocks between overlapping stays), on SQLite writers are serialised.
"""

from __future__ import annotations

import secrets
import string
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actions.booking.errors import Unavailable
from actions.booking.pricing import days
from actions.booking.quotes import (
    check_party,
    check_stay,
    local_today,
    price_in,
    seasons_of,
    units_for,
)
from actions.booking.states import ACTIVE, EXPIRED, HELD, record_note, transition
from actions.booking.tables import Inventory, Product, Property, Reservation, ReservationEvent
from bot.core.clock import Now
from bot.core.loops import LoopFailures
from bot.stores.database import Database

CODE_ALPHABET = string.ascii_uppercase + string.digits
WARNING_ACTOR = "system:hold-warning"


@dataclass(frozen=True, slots=True)
class Guest:
    name: str
    email: str
    phone: str | None = None


class Holds:
    def __init__(
        self,
        database: Database,
        clock: Now,
        hold_minutes: int = 15,
    ) -> None:
        self._database = database
        self._hold = timedelta(minutes=hold_minutes)
        self._clock = clock

    async def hold(
        self,
        product_id: int,
        check_in: date,
        check_out: date,
        adults: int,
        children: int,
        guest: Guest,
        channel: str,
        conversation_id: str,
        locale: str,
        actor: str,
    ) -> Reservation:
        check_stay(check_in, check_out, adults, children)
        now = self._clock()
        async with self._database.session() as session:
            product = await session.get_one(Product, product_id)
            place = await session.get_one(Property, product.property_id)
            check_party(product, adults, children)
            if check_in < local_today(now, place):
                raise Unavailable("check-in is in the past")
            units = units_for(product, adults, children)
            seasons = await seasons_of(session, place.id)
            price = await price_in(session, place, product, seasons, check_in, check_out, units)
            await self._take(session, product_id, check_in, check_out, units)
            reservation = Reservation(
                property_id=place.id,
                product_id=product.id,
                check_in=check_in,
                check_out=check_out,
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
            await _insert_with_code(session, reservation)
            await session.refresh(reservation, ["property", "product"])
            session.add(
                ReservationEvent(
                    reservation_id=reservation.id,
                    at=now,
                    from_state=None,
                    to_state=HELD,
                    actor=actor,
                    note=None,
                )
            )
            return reservation

    async def expire_holds(self, loops: LoopFailures | None = None) -> list[Reservation]:
        """Expire every hold whose time is up and give its inventory back. Each hold has its
        own transaction: with ``loops``, one that cannot be released is counted and the others
        still go (else its error is raised)."""
        now = self._clock()
        async with self._database.session() as session:
            due = list(
                await session.scalars(
                    select(Reservation.code)
                    .where(Reservation.state.in_(ACTIVE), Reservation.hold_expires_at < now)
                    .order_by(Reservation.product_id, Reservation.check_in)
                )
            )
        expired = []
        for code in due:
            with loops.isolated("hold_expiry") if loops else nullcontext():
                reservation = await self._expire_one(code, now)
                if reservation is not None:
                    expired.append(reservation)
        return expired

    async def warn_expiring(
        self, within: timedelta, loops: LoopFailures | None = None
    ) -> list[Reservation]:
        """The holds that run out within ``within`` and were not warned yet, each marked as
        warned in its history (once per hold, whichever worker runs the sweep)."""
        now = self._clock()
        warned = select(ReservationEvent.id).where(
            ReservationEvent.reservation_id == Reservation.id,
            ReservationEvent.actor == WARNING_ACTOR,
        )
        async with self._database.session() as session:
            due = list(
                await session.scalars(
                    select(Reservation.code).where(
                        Reservation.state.in_(ACTIVE),
                        Reservation.hold_expires_at >= now,
                        Reservation.hold_expires_at < now + within,
                        ~warned.exists(),
                    )
                )
            )
        found = []
        for code in due:
            with loops.isolated("hold_warning") if loops else nullcontext():
                reservation = await self._warn_one(code, now, warned)
                if reservation is not None:
                    found.append(reservation)
        return found

    async def _warn_one(self, code: str, now: datetime, warned: Any) -> Reservation | None:
        async with self._database.session() as session:
            query = select(Reservation).where(
                Reservation.code == code, Reservation.state.in_(ACTIVE), ~warned.exists()
            )
            if not self._database.is_sqlite:
                query = query.with_for_update(skip_locked=True, of=Reservation)
            reservation = await session.scalar(query)
            if reservation is None:
                return None
            record_note(session, reservation, WARNING_ACTOR, now, "told the hold runs out soon")
            return reservation

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
            transition(session, reservation, EXPIRED, "system:hold-expiry", self._clock())
            await release(session, reservation)
            return reservation

    async def _take(
        self, session: AsyncSession, product_id: int, check_in: date, check_out: date, units: int
    ) -> None:
        stay_filter = (
            Inventory.product_id == product_id,
            Inventory.day >= check_in,
            Inventory.day < check_out,
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
        if cast(CursorResult[Any], taken).rowcount != len(days(check_in, check_out)):
            raise Unavailable("sold out on at least one day")


async def release(session: AsyncSession, reservation: Reservation) -> None:
    """Give a reservation's rooms back, in the caller's transaction (it changes the state)."""
    await session.execute(
        update(Inventory)
        .where(
            Inventory.product_id == reservation.product_id,
            Inventory.day >= reservation.check_in,
            Inventory.day < reservation.check_out,
        )
        .values(taken=Inventory.taken - reservation.units)
        .execution_options(synchronize_session=False)
    )


def new_code() -> str:
    return "RSV-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


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
