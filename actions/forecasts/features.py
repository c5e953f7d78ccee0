"""Feature tables shared by the models: booking-time facts of a reservation, and the calendar.

A category keeps its most frequent values (``Vocabulary``) and folds the rest into "other", so
a model sees the same columns whatever the data, and the vocabulary travels with the model.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache

import holidays
import numpy as np
import pandas as pd

OTHER = "other"
MAX_CATEGORIES = 200
BOOKING_CATEGORIES = (
    "property", "room_type", "meal", "country", "market_segment", "distribution_channel",
    "deposit_type", "customer_type", "agent", "company", "arrival_weekday",
)  # fmt: skip
BOOKING_NUMBERS = (
    "lead_time", "arrival_month", "arrival_week", "arrival_day", "booked_weekday", "nights",
    "weekend_nights", "adults", "children", "babies", "guests", "adr", "adr_per_guest",
    "is_repeated_guest", "previous_cancellations", "previous_bookings_not_canceled",
    "parking_spaces", "special_requests", "holiday_stay", "booked_month", "booked_ordinal",
    "group_size", "agent_day_bookings", "country_day_bookings",
)  # fmt: skip
EPOCH = pd.Timestamp("2015-01-01")
Vocabulary = dict[str, list[str]]


def booking_schema() -> list[str]:
    return [*BOOKING_NUMBERS, *BOOKING_CATEGORIES]


def vocabulary(frame: pd.DataFrame, columns: Iterable[str]) -> Vocabulary:
    return {
        column: [str(value) for value in frame[column].value_counts().index[:MAX_CATEGORIES]]
        for column in columns
    }


def encode(frame: pd.DataFrame, words: Vocabulary) -> pd.DataFrame:
    """Categories as pandas categoricals over the vocabulary (unseen values become "other")."""
    encoded = frame.copy()
    for column, known in words.items():
        values = encoded[column].astype(str)
        encoded[column] = pd.Categorical(values.where(values.isin(known), OTHER), [*known, OTHER])
    return encoded


def booking_features(history: pd.DataFrame) -> pd.DataFrame:
    """One row per booking, only from what is known when it is made (no outcome columns)."""
    arrival, booked = history["arrival"], history["booked_on"]
    guests = history["adults"] + history["children"] + history["babies"]
    features = pd.DataFrame(
        {
            "lead_time": (arrival - booked).dt.days.astype(float),
            "arrival_month": arrival.dt.month.astype(float),
            "arrival_week": arrival.dt.isocalendar().week.astype(float),
            "arrival_day": arrival.dt.day.astype(float),
            "booked_weekday": booked.dt.weekday.astype(float),
            "booked_month": booked.dt.month.astype(float),
            "guests": guests,
            "adr_per_guest": history["adr"] / guests.clip(lower=1),
            "is_repeated_guest": history["is_repeated_guest"].astype(float),
            "holiday_stay": _holiday_stays(arrival, history["nights"]),
            # the booking date itself: cancellation habits drift (more online, fewer deposits)
            "booked_ordinal": (booked - EPOCH).dt.days.astype(float),
            # bookings made together (a group, an agent's block) cancel together
            "group_size": _same_day(
                history,
                [
                    "property",
                    "booked_on",
                    "arrival",
                    "nights",
                    "agent",
                    "market_segment",
                    "deposit_type",
                ],
            ),
            "agent_day_bookings": _same_day(history, ["property", "booked_on", "agent"]),
            "country_day_bookings": _same_day(history, ["property", "booked_on", "country"]),
            "arrival_weekday": arrival.dt.weekday.astype(str),
        },
        index=history.index,
    )
    for column in (
        "nights",
        "weekend_nights",
        "adults",
        "children",
        "babies",
        "adr",
        "previous_cancellations",
        "previous_bookings_not_canceled",
        "parking_spaces",
        "special_requests",
        *BOOKING_CATEGORIES[:-1],
    ):
        features[column] = history[column]
    return features[booking_schema()]


def _same_day(history: pd.DataFrame, keys: list[str]) -> pd.Series:
    return history.groupby(keys)["adults"].transform("size").astype(float)


def _holiday_stays(arrival: pd.Series, nights: pd.Series) -> pd.Series:
    """Whether the stay (up to a week of it) includes a Brazilian national holiday."""
    days = pd.to_datetime(arrival).dt.normalize()
    if days.empty:
        return pd.Series(dtype=float)
    marks = holiday_marks(days.min().date(), (days.max() + pd.Timedelta(days=8)).date())
    covered = np.zeros(len(days))
    for offset in range(8):
        within = nights.to_numpy() > offset
        day = days + pd.Timedelta(days=offset)
        covered = np.maximum(covered, within * day.map(marks).fillna(0).to_numpy())
    return pd.Series(covered, index=arrival.index)


@cache
def brazil_holidays(first_year: int, last_year: int) -> dict[date, str]:
    found = holidays.country_holidays(
        "BR", years=range(first_year, last_year + 1), categories=("public", "optional")
    )
    return dict(found.items())


def holiday_marks(start: date, end: date) -> pd.Series:
    days = pd.date_range(start, end, freq="D")
    known = brazil_holidays(start.year, end.year)
    return pd.Series([1.0 if day.date() in known else 0.0 for day in days], index=days)


def calendar_features(days: pd.DatetimeIndex) -> pd.DataFrame:
    """Weekday, season and the Brazilian holiday calendar (Carnaval is an optional holiday)."""
    marks = holiday_marks(
        days.min().date() - pd.Timedelta(days=10), days.max().date() + pd.Timedelta(days=10)
    )
    near = marks.rolling(7, center=True, min_periods=1).max()
    bridge = marks.shift(1, fill_value=0) + marks.shift(-1, fill_value=0)
    return pd.DataFrame(
        {
            "weekday": days.weekday.astype(float),
            "month": days.month.astype(float),
            "day_of_year": days.dayofyear.astype(float),
            "holiday": marks.reindex(days).to_numpy(),
            "holiday_week": near.reindex(days).to_numpy(),
            "holiday_bridge": bridge.reindex(days).to_numpy(),
        },
        index=days,
    )
