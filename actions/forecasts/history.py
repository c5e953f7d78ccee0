"""Booking history as one frame: stored history rows plus the live reservations.

Every model reads the same columns (``COLUMNS``); dates are ``datetime64[ns]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from actions.booking.tables import Product, Property, Reservation
from actions.forecasts.tables import HistoricalBooking
from bot.stores.database import Database

CATEGORIES = (
    "property", "room_type", "meal", "country", "market_segment", "distribution_channel",
    "deposit_type", "customer_type", "agent", "company",
)  # fmt: skip
NUMBERS = (
    "nights", "weekend_nights", "adults", "children", "babies", "adr", "previous_cancellations",
    "previous_bookings_not_canceled", "parking_spaces", "special_requests",
)  # fmt: skip
FLAGS = ("is_canceled", "is_repeated_guest")
DATES = ("booked_on", "arrival", "cancelled_on")
COLUMNS = (*CATEGORIES, *NUMBERS, *FLAGS, *DATES)
BATCH = 2000
LIVE_STATES = ("confirmed", "cancelled")
"""Reservations that became bookings; holds that expired unpaid never were."""


def to_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The history frame; a ``reference`` column (booking code) is kept when rows have one."""
    records = list(rows)
    extra = ["reference"] if records and "reference" in records[0] else []
    frame = pd.DataFrame.from_records(records, columns=[*COLUMNS, *extra])
    for column in DATES:
        frame[column] = pd.to_datetime(frame[column])
    for column in NUMBERS:
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    for column in FLAGS:
        frame[column] = frame[column].astype(bool)
    for column in CATEGORIES:
        frame[column] = frame[column].astype(str)
    return frame


async def store(database: Database, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows not stored yet (by source and row key); returns how many were new."""
    if not rows:
        return 0
    insert = sqlite_insert if database.is_sqlite else pg_insert
    sources = sorted({row["source"] for row in rows})
    async with database.session() as session:
        before = await _count(session, sources)
        for start in range(0, len(rows), BATCH):
            statement = insert(HistoricalBooking).on_conflict_do_nothing(
                index_elements=["source", "row_key"]
            )
            await session.execute(statement, list(rows[start : start + BATCH]))
        return await _count(session, sources) - before


async def _count(session: Any, sources: list[str]) -> int:
    query = select(func.count()).where(HistoricalBooking.source.in_(sources))
    return int(await session.scalar(query) or 0)


async def has_history(database: Database, property_slug: str) -> bool:
    async with database.session() as session:
        found = await session.scalar(
            select(HistoricalBooking.id).where(HistoricalBooking.property == property_slug).limit(1)
        )
        return found is not None


async def load_history(database: Database, property_slug: str | None = None) -> pd.DataFrame:
    """Stored history plus live reservations, for one property or all."""
    columns = [getattr(HistoricalBooking, name) for name in COLUMNS]
    query = select(*columns, HistoricalBooking.id)
    if property_slug is not None:
        query = query.where(HistoricalBooking.property == property_slug)
    async with database.session() as session:
        stored = [
            {**row._asdict(), "reference": f"H{row.id}"} for row in await session.execute(query)
        ]
        stored += await _live(session, property_slug)
    return to_frame(stored)


async def _live(session: Any, property_slug: str | None) -> list[dict[str, Any]]:
    query = (
        select(Reservation, Property.slug, Product.code)
        .join(Property, Reservation.property_id == Property.id)
        .join(Product, Reservation.product_id == Product.id)
        .where(Reservation.state.in_(LIVE_STATES), Product.kind == "room")
    )
    if property_slug is not None:
        query = query.where(Property.slug == property_slug)
    rows = []
    for reservation, slug, code in (await session.execute(query)).unique():
        nights = (reservation.check_out - reservation.check_in).days
        cancelled = reservation.state == "cancelled"
        weekend = sum(
            1
            for offset in range(nights)
            if (reservation.check_in.toordinal() + offset) % 7 in (5, 6)  # Fri and Sat nights
        )
        rows.append(
            {
                "property": slug,
                "room_type": code,
                "meal": "BB",
                "country": "BRA",
                "market_segment": "Direct",
                "distribution_channel": "Direct",
                "deposit_type": "No Deposit",
                "customer_type": "Transient",
                "agent": "none",
                "company": "none",
                "nights": nights,
                "weekend_nights": weekend,
                "adults": reservation.adults,
                "children": reservation.children,
                "babies": 0,
                "adr": reservation.total / 100 / max(nights, 1) / max(reservation.units, 1),
                "previous_cancellations": 0,
                "previous_bookings_not_canceled": 0,
                "parking_spaces": 0,
                "special_requests": 0,
                "is_canceled": cancelled,
                "is_repeated_guest": False,
                "booked_on": reservation.created_at.date(),
                "arrival": reservation.check_in,
                "cancelled_on": reservation.updated_at.date() if cancelled else None,
                "id": reservation.id,
                "reference": reservation.code,
            }
        )
    return rows
