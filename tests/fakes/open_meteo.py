"""A local Open-Meteo forecast API (``GET /v1/forecast``), answering in its documented JSON
shape: ``daily_units`` and ``daily`` arrays, one value per day from ``start_date`` to
``end_date`` (or ``forecast_days`` from today), in the units asked, ``null`` where it has no
value; a bad request is a 400 with ``{"error": true, "reason": ...}``.

The test sets the weather per day in metric units (``days``); the fake converts to Fahrenheit,
mph and inches when asked, as Open-Meteo does. ``raw`` answers queue exact bodies (garbage,
truncated JSON) for the next requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeProvider

VARIABLES = {
    "temperature_2m_max": "°C",
    "temperature_2m_min": "°C",
    "precipitation_probability_max": "%",
    "precipitation_sum": "mm",
    "wind_speed_10m_max": "km/h",
    "uv_index_max": "",
    "weather_code": "wmo code",
}
HORIZON_DAYS = 16


@dataclass
class Day:
    high: float = 28.0
    low: float = 21.0
    rain_chance: int = 10
    rain_mm: float = 0.0
    wind_kmh: float = 12.0
    uv: float = 9.0
    code: int = 1


class FakeOpenMeteo(FakeProvider):
    def __init__(self, today: date) -> None:
        super().__init__()
        self.today = today
        self.days: dict[date, Day] = {}
        self.raw: list[tuple[int, bytes]] = []
        self.app.router.add_get("/v1/forecast", self._forecast)

    @property
    def forecast_url(self) -> str:
        return f"{self.url}/v1/forecast"

    def error_body(self, status: int) -> Any:
        return {"error": True, "reason": f"fake {status}"}

    async def _forecast(self, request: web.Request) -> web.StreamResponse:
        if self.raw:
            status, body = self.raw.pop(0)
            return web.Response(body=body, status=status, content_type="application/json")
        query = request.query
        try:
            latitude, longitude = float(query["latitude"]), float(query["longitude"])
            first, last = self._period(query)
            asked = query["daily"].split(",")
            unknown = [name for name in asked if name not in VARIABLES]
            if unknown:
                raise ValueError(
                    f"Cannot initialize WeatherVariable from invalid String value {unknown[0]}"
                )
            query["timezone"]
        except (KeyError, ValueError) as error:
            return web.json_response({"error": True, "reason": str(error)}, status=400)
        fahrenheit = query.get("temperature_unit") == "fahrenheit"
        mph = query.get("wind_speed_unit") == "mph"
        inches = query.get("precipitation_unit") == "inch"
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        daily: dict[str, list[Any]] = {"time": [day.isoformat() for day in days]}
        units = {"time": "iso8601"}
        for name in asked:
            daily[name] = [self._value(name, day, fahrenheit, mph, inches) for day in days]
            units[name] = _unit(name, fahrenheit, mph, inches)
        return web.json_response(
            {
                "latitude": round(latitude, 3),
                "longitude": round(longitude, 3),
                "generationtime_ms": 0.09,
                "utc_offset_seconds": -10800,
                "timezone": query["timezone"],
                "timezone_abbreviation": "GMT-3",
                "elevation": 8.0,
                "daily_units": units,
                "daily": daily,
            }
        )

    def _period(self, query: Any) -> tuple[date, date]:
        if "start_date" in query:
            first = date.fromisoformat(query["start_date"])
            last = date.fromisoformat(query["end_date"])
        else:
            first = self.today
            last = first + timedelta(days=int(query.get("forecast_days", 7)) - 1)
        if last < first or (last - self.today).days >= HORIZON_DAYS or first < self.today:
            raise ValueError(f"Parameter 'start_date' is out of allowed range from {self.today}")
        return first, last

    def _value(self, name: str, day: date, fahrenheit: bool, mph: bool, inches: bool) -> Any:
        weather = self.days.get(day)
        if weather is None:
            return None
        value: float = {
            "temperature_2m_max": weather.high,
            "temperature_2m_min": weather.low,
            "precipitation_probability_max": weather.rain_chance,
            "precipitation_sum": weather.rain_mm,
            "wind_speed_10m_max": weather.wind_kmh,
            "uv_index_max": weather.uv,
            "weather_code": weather.code,
        }[name]
        if name.startswith("temperature") and fahrenheit:
            value = value * 9 / 5 + 32
        elif name.startswith("wind") and mph:
            value = value / 1.609344
        elif name == "precipitation_sum" and inches:
            value = value / 25.4
        return round(value, 1) if isinstance(value, float) else value


def _unit(name: str, fahrenheit: bool, mph: bool, inches: bool) -> str:
    if name.startswith("temperature"):
        return "°F" if fahrenheit else "°C"
    if name.startswith("wind"):
        return "mp/h" if mph else "km/h"
    if name == "precipitation_sum":
        return "inch" if inches else "mm"
    return VARIABLES[name]
