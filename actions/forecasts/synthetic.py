"""Two years of plausible bookings for the demo property, so forecasts work out of the box.

Reproducible: the same seed and the same day give the same rows. Demand follows the Brazilian
calendar (summer from mid-December to Carnaval, July school holidays, national holidays and
their bridges from the ``holidays`` package, weekends); lead times lengthen in high season;
cancellations are likelier for long lead times, online agencies and no deposit. Bookings for
the coming months that were already made by today are on the books (the pickup the demand
model reads); a room type never holds more bookings than it has rooms.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

import numpy as np

from actions.forecasts.features import brazil_holidays
from actions.forecasts.history import has_history, store
from bot.stores.database import Database

SOURCE = "synthetic"
SEED = 2026
DAYS_BACK = 730
DAYS_AHEAD = 120
ROOMS = {"standard": (4, 320.0), "ocean-view": (3, 450.0), "family-chalet": (1, 620.0)}
"""Room type: (rooms, usual nightly rate), as in the demo catalog."""
SEGMENTS = (("Online TA", 0.5), ("Direct", 0.35), ("Corporate", 0.1), ("Groups", 0.05))
COUNTRIES = (("BRA", 0.86), ("ARG", 0.06), ("USA", 0.03), ("PRT", 0.02), ("URY", 0.03))


def season(day: date, holidays: dict[date, str]) -> float:
    """How much busier than usual a night is."""
    factor = 1.0
    if (day.month == 12 and day.day >= 15) or day.month in (1, 2):
        factor = 1.9
    elif day.month == 7:
        factor = 1.5
    elif day.month in (5, 6, 8, 9):
        factor = 0.75
    if any(
        name.startswith("Carnaval") or name.startswith("Carnival")
        for offset in range(-2, 3)
        if (name := holidays.get(day + timedelta(days=offset), ""))
    ):
        factor = 2.4
    elif any(day + timedelta(days=offset) in holidays for offset in (-1, 0, 1)):
        factor *= 1.5
    if day.weekday() in (4, 5):
        factor *= 1.6
    return factor


def generate(slug: str, today: date, seed: int = SEED) -> list[dict[str, Any]]:
    random = np.random.default_rng(seed)
    start = today - timedelta(days=DAYS_BACK)
    holidays = brazil_holidays(start.year, today.year + 1)
    taken = {room: np.zeros(DAYS_BACK + DAYS_AHEAD + 30, dtype=int) for room in ROOMS}
    rows: list[dict[str, Any]] = []
    for offset in range(DAYS_BACK + DAYS_AHEAD):
        arrival = start + timedelta(days=offset)
        busy = season(arrival, holidays)
        for number in range(random.poisson(1.15 * busy)):
            booking = _booking(random, arrival, busy)
            if booking["booked_on"] > today:
                continue  # not booked yet
            nights, room = booking["nights"], booking["room_type"]
            span = slice(offset, offset + nights)
            units = ROOMS[room][0]
            if not booking["is_canceled"] and (taken[room][span] >= units).any():
                continue  # full: this guest went elsewhere
            if booking["cancelled_on"] is not None and booking["cancelled_on"] > today:
                booking["is_canceled"], booking["cancelled_on"] = False, None  # not yet
            if not booking["is_canceled"]:
                taken[room][span] += 1
            key = f"{slug}:{seed}:{arrival.isoformat()}:{number}"
            booking.update(property=slug, source=SOURCE, row_key=_hash(key))
            rows.append(booking)
    return rows


def _booking(random: np.random.Generator, arrival: date, busy: float) -> dict[str, Any]:
    room = str(random.choice(list(ROOMS), p=[0.55, 0.35, 0.10]))
    segment = str(random.choice([s for s, _ in SEGMENTS], p=[p for _, p in SEGMENTS]))
    lead = int(random.exponential(18 + 14 * busy))
    nights = int(1 + random.poisson(1.2 if busy < 1.5 else 2.5))
    deposit = "Non Refund" if random.random() < 0.15 else "No Deposit"
    repeated = random.random() < 0.08
    risk = -2.2 + 0.012 * lead + 0.7 * (segment == "Online TA") - 1.5 * (deposit == "Non Refund")
    risk -= 1.2 * repeated
    canceled = random.random() < 1 / (1 + np.exp(-risk))
    booked_on = arrival - timedelta(days=lead)
    cancelled_on = (
        booked_on + timedelta(days=int(random.uniform(0, lead + 1))) if canceled else None
    )
    adults = int(random.choice([1, 2, 2, 2, 3, 4])) if room == "family-chalet" else 2
    children = int(random.poisson(1.0)) if room == "family-chalet" else 0
    weekend = sum((arrival + timedelta(days=n)).weekday() in (4, 5) for n in range(nights))
    return {
        "room_type": room,
        "booked_on": booked_on,
        "arrival": arrival,
        "nights": nights,
        "weekend_nights": weekend,
        "adults": adults,
        "children": children,
        "babies": 0,
        "adr": round(ROOMS[room][1] * min(busy, 2.2) ** 0.4 * random.uniform(0.9, 1.1), 2),
        "is_canceled": bool(canceled),
        "cancelled_on": cancelled_on,
        "meal": "BB",
        "country": str(random.choice([c for c, _ in COUNTRIES], p=[p for _, p in COUNTRIES])),
        "market_segment": segment,
        "distribution_channel": "TA/TO" if segment == "Online TA" else segment,
        "deposit_type": deposit,
        "customer_type": "Group" if segment == "Groups" else "Transient",
        "agent": str(random.integers(1, 6)) if segment == "Online TA" else "none",
        "company": "none",
        "is_repeated_guest": repeated,
        "previous_cancellations": int(random.random() < 0.03),
        "previous_bookings_not_canceled": int(repeated) * int(random.integers(1, 4)),
        "parking_spaces": int(random.random() < 0.4),
        "special_requests": int(random.poisson(0.6)),
        "extra": {},
    }


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def ensure_demo_history(database: Database, slug: str, today: date) -> int:
    """Generate the demo property's history when it has none; returns the rows added."""
    if await has_history(database, slug):
        return 0
    return await store(database, generate(slug, today))
