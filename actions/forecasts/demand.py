"""Demand: daily arrivals and occupied room-nights, 1 to 90 days ahead, with an 80% interval.

The history becomes a panel: for every day, what finally happened (arrivals that came, rooms
occupied) and, for every horizon h, what was on the books h days before (bookings made by then
and not cancelled by then: the pickup). Gradient-boosted trees learn the final count from the
horizon, the calendar (weekday, season, Brazilian holidays), the bookings on the books, last
year's day and the recent level; the interval is split-conformal (``fit_series``).
A series is a property, or one of its room types when they are few and each sizeable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from actions.forecasts.features import calendar_features
from actions.forecasts.reach import HORIZON

NAME = "demand"
BANDS = (7, 30, HORIZON)
TARGETS = ("arrivals", "nights")
ALL_ROOMS = "*"
WARM_UP_DAYS = 28
YEAR = 364  # same weekday last year
MAX_ROOM_TYPES = 4
MIN_ROOM_SHARE = 0.1
CALIBRATION_DAYS = 56
MIN_HISTORY_DAYS = 180
UNKNOWN = -1.0
SCHEMA = [
    "horizon", "weekday", "month", "day_of_year", "holiday", "holiday_week", "holiday_bridge",
    "on_books", "on_books_last_year", "last_year", "level", "last_week",
]  # fmt: skip


@dataclass(slots=True)
class Panel:
    days: pd.DatetimeIndex
    final: np.ndarray
    """Final count per day (arrivals that came, or rooms occupied)."""
    books: np.ndarray
    """``books[d, h]``: on the books ``h`` days before day ``d`` (columns 0 to HORIZON)."""

    def index(self, day: pd.Timestamp) -> int:
        return int((day - self.days[0]).days)


def panel(history: pd.DataFrame, target: str, until: pd.Timestamp | None = None) -> Panel:
    """The series as known at ``until`` (default: everything); later bookings do not exist."""
    bookings = history if until is None else history[history["booked_on"] <= until]
    start = bookings["arrival"].min()
    last = (bookings["arrival"] + pd.to_timedelta(bookings["nights"], unit="D")).max()
    end = max(last, (until or last) + pd.Timedelta(days=HORIZON))
    days = pd.date_range(start, end, freq="D")
    lead = (bookings["arrival"] - bookings["booked_on"]).dt.days.to_numpy()
    cancelled = bookings["is_canceled"].to_numpy()
    if until is not None:  # a cancellation after the origin had not happened yet
        cancelled = cancelled & (bookings["cancelled_on"] <= until).to_numpy()
    cancel_lead = np.where(
        cancelled, (bookings["arrival"] - bookings["cancelled_on"]).dt.days.fillna(0), -(10**6)
    )
    first = (bookings["arrival"] - start).dt.days.to_numpy()
    if target == "nights":
        stays = np.maximum(bookings["nights"].to_numpy().astype(int), 0)
        offsets = np.concatenate([np.arange(n) for n in stays]) if stays.sum() else np.array([])
        repeat = np.repeat(np.arange(len(stays)), stays)
        first, lead = first[repeat] + offsets, lead[repeat] + offsets
        cancel_lead, cancelled = cancel_lead[repeat] + offsets, cancelled[repeat]
    final = np.bincount(first[~cancelled].astype(int), minlength=len(days)).astype(float)
    grid = np.zeros((len(days), HORIZON + 2))
    low = np.maximum(cancel_lead + 1, 0).astype(int)
    high = np.minimum(lead, HORIZON).astype(int)
    keep = low <= high
    np.add.at(grid, (first[keep].astype(int), low[keep]), 1)
    np.add.at(grid, (first[keep].astype(int), high[keep] + 1), -1)
    return Panel(days, final[: len(days)], np.cumsum(grid, axis=1)[:, : HORIZON + 1])


def rows(
    series: Panel, origins: Iterable[int], horizons: Iterable[int], known_until: int
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Features for (origin, horizon) pairs, the target days' indices and final counts
    (NaN where the day is after ``known_until``)."""
    pairs = np.array([(o, h) for o in origins for h in horizons if o + h < len(series.days)])
    if len(pairs) == 0:
        return pd.DataFrame(columns=SCHEMA), np.array([], dtype=int), np.array([])
    origin, horizon = pairs[:, 0], pairs[:, 1]
    day = origin + horizon
    calendar = calendar_features(series.days).to_numpy()[day]
    cumulative = np.concatenate([[0.0], np.cumsum(series.final)])
    level = (cumulative[origin + 1] - cumulative[np.maximum(origin - WARM_UP_DAYS + 1, 0)]) / (
        np.minimum(origin + 1, WARM_UP_DAYS)
    )
    year_ago = day - YEAR
    has_year = year_ago >= 0
    safe_year = np.where(has_year, year_ago, 0)
    week_ago = day - 7
    frame = pd.DataFrame(calendar, columns=SCHEMA[1:7])
    frame.insert(0, "horizon", horizon.astype(float))
    frame["on_books"] = series.books[day, horizon]
    # -1 marks "not known" (no year of history yet, or last week still ahead): a tree splits it
    # off like a missing value, and a column without a single known value still trains
    frame["on_books_last_year"] = np.where(has_year, series.books[safe_year, horizon], UNKNOWN)
    frame["last_year"] = np.where(has_year, series.final[safe_year], UNKNOWN)
    frame["level"] = level
    frame["last_week"] = np.where(
        week_ago <= origin, series.final[np.maximum(week_ago, 0)], UNKNOWN
    )
    truth = np.where(day <= known_until, series.final[day], np.nan)
    return frame[SCHEMA], day, truth


@dataclass(slots=True)
class SeriesModel:
    estimator: Any
    capacity: float
    bands: dict[int, tuple[float, float]] = field(default_factory=dict)
    """Per horizon band (its last horizon): the 10% and 90% quantiles of the scaled errors
    ``(actual - forecast) / sqrt(forecast + 1)`` on held-out days (split conformal)."""

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """(rows, 3): low, median, high; never crossing, never negative."""
        point = np.clip(self.estimator.predict(features), 0, None)
        scale = np.sqrt(point + 1)
        low, high = np.zeros_like(point), np.zeros_like(point)
        horizon = features["horizon"].to_numpy()
        for lower, upper in _band_limits():
            inside = (horizon > lower) & (horizon <= upper)
            q_low, q_high = self.bands.get(upper, (0.0, 0.0))
            low[inside], high[inside] = q_low, q_high
        stacked = np.column_stack([point + low * scale, point, point + high * scale])
        return np.sort(np.clip(stacked, 0, None), axis=1)


def _band_limits() -> list[tuple[int, int]]:
    edges = [0, *BANDS]
    return list(pairwise(edges))


@dataclass(slots=True)
class DemandModel:
    series: dict[str, dict[str, SeriesModel]] = field(default_factory=dict)
    """``series[f"{property}/{room_type or '*'}"][target]``."""

    @property
    def schema(self) -> list[str]:
        return SCHEMA


def as_of(history: pd.DataFrame) -> pd.Timestamp:
    """The day the history was taken: the last day whose arrivals are all known (later days
    have only the bookings already on the books)."""
    return min(history["arrival"].max(), history["booked_on"].max())


def series_keys(history: pd.DataFrame) -> list[tuple[str, str]]:
    keys = []
    for slug, bookings in history.groupby("property", sort=True):
        keys.append((str(slug), ALL_ROOMS))
        shares = bookings["room_type"].value_counts(normalize=True)
        sizeable = shares[shares >= MIN_ROOM_SHARE]
        if 1 < len(sizeable) <= MAX_ROOM_TYPES:
            keys += [(str(slug), str(room)) for room in sorted(sizeable.index)]
    return keys


def select(history: pd.DataFrame, slug: str, room_type: str) -> pd.DataFrame:
    chosen = history[history["property"] == slug]
    return chosen if room_type == ALL_ROOMS else chosen[chosen["room_type"] == room_type]


def fit_series(
    series: Panel, known_until: int, horizons: Iterable[int], origin_step: int = 1, seed: int = 7
) -> SeriesModel:
    """Boosted trees (Poisson loss: the targets are counts) on every origin known by
    ``known_until``; the 80% interval comes from a twin fitted without the last
    ``CALIBRATION_DAYS`` of origins, whose errors on those days give each horizon band's
    quantiles (split conformal: coverage checked in the backtest, docs/forecasts.md)."""
    horizons = list(horizons)
    capacity = float(np.percentile(series.final[: known_until + 1], 99)) or 1.0
    model = SeriesModel(_trees(series, known_until, horizons, origin_step, seed), capacity)
    split = known_until - CALIBRATION_DAYS
    if split - WARM_UP_DAYS < CALIBRATION_DAYS:
        split = known_until - (known_until - WARM_UP_DAYS) // 3
    twin = SeriesModel(_trees(series, split, horizons, origin_step, seed), capacity)
    features, _, truth = rows(series, range(split, known_until, origin_step), horizons, known_until)
    known = ~np.isnan(truth)
    point = twin.predict(features[known])[:, 1]
    errors = (truth[known] - point) / np.sqrt(point + 1)
    horizon = features["horizon"].to_numpy()[known]
    for lower, upper in _band_limits():
        inside = (horizon > lower) & (horizon <= upper)
        if inside.sum() >= 10:
            low, high = np.quantile(errors[inside], [0.1, 0.9])
            model.bands[upper] = (float(low), float(high))
    return model


def _trees(
    series: Panel, known_until: int, horizons: list[int], origin_step: int, seed: int
) -> Any:
    origins = range(WARM_UP_DAYS, known_until, origin_step)
    features, _, truth = rows(series, origins, horizons, known_until)
    known = ~np.isnan(truth)
    return HistGradientBoostingRegressor(
        loss="poisson", max_iter=120, learning_rate=0.1, random_state=seed
    ).fit(features[known], truth[known])


TRAIN_HORIZONS = [*range(1, 15), *range(15, HORIZON + 1, 3)]
"""Every horizon of the first two weeks, then every third day: neighbours add little."""


def train(
    history: pd.DataFrame,
    progress: Callable[[Iterable[Any]], Iterable[Any]] = lambda items: items,
) -> DemandModel:
    model = DemandModel()
    for slug, room in progress(series_keys(history)):
        chosen = select(history, slug, room)
        known_until = int(
            (as_of(history[history["property"] == slug]) - chosen["arrival"].min()).days
        )
        if known_until < MIN_HISTORY_DAYS:
            continue  # too short to learn from: the answer says there is no history
        model.series[f"{slug}/{room}"] = {
            target: fit_series(
                panel(chosen, target),
                known_until - 1,
                TRAIN_HORIZONS,
                origin_step=3,
            )
            for target in TARGETS
        }
    return model


def forecast(
    model: DemandModel,
    history: pd.DataFrame,
    slug: str,
    origin: pd.Timestamp,
    days: int,
    room_type: str = ALL_ROOMS,
) -> pd.DataFrame:
    """Per day from ``origin`` + 1: quantiles of arrivals and rooms occupied, what is on the
    books and last year's actuals."""
    chosen = select(history, slug, room_type)
    fitted = model.series[f"{slug}/{room_type}"]
    table: dict[str, Any] = {}
    for target in TARGETS:
        series = panel(chosen, target, until=origin)
        at = series.index(origin)
        features, day, _ = rows(series, [at], range(1, min(days, HORIZON) + 1), at)
        predicted = fitted[target].predict(features)
        table["date"] = series.days[day]
        for column, q in zip(("low", "median", "high"), range(3), strict=True):
            table[f"{target}_{column}"] = predicted[:, q]
        table[f"{target}_on_books"] = features["on_books"].to_numpy()
        table[f"{target}_last_year"] = features["last_year"].to_numpy()
        table[f"{target}_capacity"] = fitted[target].capacity
    return pd.DataFrame(table)
