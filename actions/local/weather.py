"""Open-Meteo's daily forecast: the request for a place and period in the guest's units, and
the parser of its answer (``daily_units`` and ``daily`` arrays, one value per day, ``null``
where the model has none). A malformed answer is a ``ValueError``, whatever is wrong with it.

Pure: the partner client (``bot.partners``) calls, caches and retries; this module only knows
what to ask and how to read the answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from actions.local.places import DayKind, Place

HORIZON_DAYS = 16
"""Open-Meteo forecasts 16 days from today; beyond, the month's climate normals answer."""
DAILY = (
    "temperature_2m_max",
    "temperature_2m_min",
    "precipitation_probability_max",
    "precipitation_sum",
    "wind_speed_10m_max",
    "uv_index_max",
)
Units = Literal["metric", "imperial"]
IMPERIAL = {
    "temperature_unit": "fahrenheit",
    "wind_speed_unit": "mph",
    "precipitation_unit": "inch",
}
RAINY_CHANCE = 60
RAINY_AMOUNT = {"metric": 5.0, "imperial": 0.2}
WINDY = {"metric": 35.0, "imperial": 22.0}
SUNNY_CHANCE = 30
SUNNY_UV = 6.0


@dataclass(frozen=True, slots=True)
class DayWeather:
    day: date
    high: float | None
    low: float | None
    rain_chance: int | None
    rain: float | None
    wind: float | None
    uv: float | None


def forecast_params(place: Place, start: date, end: date, units: Units) -> dict[str, str]:
    params = {
        "latitude": f"{place.latitude:.4f}",
        "longitude": f"{place.longitude:.4f}",
        "daily": ",".join(DAILY),
        "timezone": place.timezone,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
    }
    return params | (IMPERIAL if units == "imperial" else {})


def parse_forecast(body: str) -> list[DayWeather]:
    try:
        document = json.loads(body)
    except RecursionError as error:  # absurdly nested JSON
        raise ValueError("answer nested too deeply") from error
    if not isinstance(document, dict):
        raise ValueError("answer is not a JSON object")
    if document.get("error"):
        raise ValueError(f"Open-Meteo refused: {str(document.get('reason'))[:200]}")
    daily = document.get("daily")
    if not isinstance(daily, dict):
        raise ValueError("answer has no daily block")
    days = [_day(text) for text in _series(daily, "time")]
    columns = {name: _series(daily, name) for name in DAILY}
    if any(len(values) != len(days) for values in columns.values()):
        raise ValueError("daily arrays differ in length")
    return [
        DayWeather(
            day,
            _number(columns["temperature_2m_max"][n]),
            _number(columns["temperature_2m_min"][n]),
            _whole(_number(columns["precipitation_probability_max"][n])),
            _number(columns["precipitation_sum"][n]),
            _number(columns["wind_speed_10m_max"][n]),
            _number(columns["uv_index_max"][n]),
        )
        for n, day in enumerate(days)
    ]


def day_kind(weather: DayWeather, units: Units) -> DayKind:
    """What kind of day it will be, for the suggestion: rain first, then wind, then sun."""
    chance, rain = weather.rain_chance or 0, weather.rain or 0.0
    if chance >= RAINY_CHANCE or rain >= RAINY_AMOUNT[units]:
        return "rainy"
    if (weather.wind or 0.0) >= WINDY[units]:
        return "windy"
    if chance < SUNNY_CHANCE and (weather.uv or 0.0) >= SUNNY_UV:
        return "sunny"
    return "cloudy"


def units_of(text: str, remembered: object) -> Units:
    """Imperial when the guest writes in Fahrenheit (and from then on), metric otherwise."""
    folded = text.lower()
    if "fahrenheit" in folded or "°f" in folded or "imperial" in folded:
        return "imperial"
    if "celsius" in folded or "°c" in folded:
        return "metric"
    return "imperial" if remembered == "imperial" else "metric"


def _series(daily: Mapping[str, Any], name: str) -> Sequence[Any]:
    values = daily.get(name)
    if not isinstance(values, list):
        raise ValueError(f"daily {name} is not a list")
    return values


def _day(text: object) -> date:
    if not isinstance(text, str):
        raise ValueError("a daily time is not a date")
    return date.fromisoformat(text)  # ValueError when it is not an ISO date


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"not a number: {str(value)[:40]}")
    if abs(value) > 1e6:
        raise ValueError("a value beyond any weather")
    return float(value)


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)
