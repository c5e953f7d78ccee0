"""Price suggestion: a nightly rate per room type and date from forecast occupancy.

The usual rate (the median rate paid for that room type, month and kind of day: Friday and
Saturday nights apart) moves by the property's ``sensitivity`` times the relative gap between
forecast and usual occupancy, within ``max_change_percent`` and the season's floor and ceiling
(``pricing/<property>.yaml``, the property's own file, or the console's override: see
``price_rules.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from actions.forecasts.demand import as_of, panel
from actions.forecasts.price_rules import PriceRules


def _kind(days: pd.Series | pd.DatetimeIndex) -> Any:
    return np.isin(pd.DatetimeIndex(days).weekday, (4, 5))


def usual_rates(history: pd.DataFrame, room_type: str, days: pd.DatetimeIndex) -> np.ndarray:
    stays = history[(history["room_type"] == room_type) & ~history["is_canceled"]]
    stays = stays[stays["adr"] > 0]
    if stays.empty:
        return np.full(len(days), np.nan)
    table = stays.groupby([stays["arrival"].dt.month, _kind(stays["arrival"])])["adr"].median()
    overall = float(stays["adr"].median())
    return np.array(
        [
            float(table.get((day.month, bool(weekend)), overall))
            for day, weekend in zip(days, _kind(days), strict=True)
        ]
    )


def usual_occupancy(history: pd.DataFrame, capacity: float, days: pd.DatetimeIndex) -> np.ndarray:
    series = panel(history, "nights")
    known = series.days <= as_of(history)
    occupied = pd.Series(series.final[known] / capacity, index=series.days[known])
    table = occupied.groupby([occupied.index.month, _kind(occupied.index)]).mean()
    overall = float(occupied.mean()) if len(occupied) else 0.5
    return np.array(
        [
            float(table.get((day.month, bool(weekend)), overall))
            for day, weekend in zip(days, _kind(days), strict=True)
        ]
    )


def suggest(
    rules: PriceRules,
    room_type: str,
    days: pd.DatetimeIndex,
    forecast: np.ndarray,
    usual: np.ndarray,
    rates: np.ndarray,
) -> pd.DataFrame:
    """Per day: the usual rate, the suggestion, the change and whether a bound decided it."""
    gap = (forecast - usual) / np.maximum(usual, 0.05)
    change = np.clip(rules.sensitivity * gap, -rules.max_change, rules.max_change)
    suggested = rates * (1 + change)
    floors, ceilings = [], []
    for day in days:
        season = rules.season(day.date())
        floors.append(season.floor.get(room_type, 0.0) if season else 0.0)
        ceilings.append(season.ceiling.get(room_type, np.inf) if season else np.inf)
    bounded = np.clip(suggested, floors, ceilings)
    return pd.DataFrame(
        {
            "date": days,
            "usual_rate": rates,
            "suggested": np.round(bounded),
            "forecast": forecast,
            "usual": usual,
            "change": np.round(bounded) / rates - 1,
            "floor": floors,
            "ceiling": ceilings,
            "bound": np.where(
                bounded > suggested, "floor", np.where(bounded < suggested, "ceiling", "")
            ),
        }
    )
