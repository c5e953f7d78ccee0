"""The local guide: the weather for a place and period (the forecast within its horizon, the
month's climate normals beyond), and what is on nearby, through the partner client.

Every feed of a place is fetched on its own: one that is down or malformed is logged and left
out, and the answer says some of the agenda could not be read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import structlog

from actions.local.calendars import LocalEvent, events_between, read_calendar
from actions.local.places import Normals, Place
from actions.local.weather import HORIZON_DAYS, DayWeather, Units, forecast_params, parse_forecast
from bot.partners.client import PartnerClient, PartnerError

log = structlog.get_logger("rsv360.local")


@dataclass(frozen=True, slots=True)
class WeatherReport:
    days: list[DayWeather]
    """The forecast's days within the period (none when the period is all beyond it)."""
    stale: bool = False
    beyond: date | None = None
    """The first day of the period the forecast does not reach yet."""
    normals: list[tuple[int, Normals]] = field(default_factory=list)
    """(month, normals) for the months beyond the forecast's reach."""


@dataclass(frozen=True, slots=True)
class EventsReport:
    events: list[LocalEvent]
    stale: bool = False
    """Some feed answered with its last good copy."""
    unread: int = 0
    """Feeds that could not be read at all."""


class LocalGuide:
    def __init__(self, partners: PartnerClient, places: Mapping[str, Place], weather_url: str):
        self._partners = partners
        self.places = dict(places)
        self._weather_url = weather_url
        self._weather = partners.api("open-meteo", "weather")
        self._calendars = partners.api("ical", "events")

    async def weather(
        self, place: Place, start: date, end: date, units: Units, today: date
    ) -> WeatherReport:
        """Raises PartnerError when the forecast is needed and neither the partner nor the
        cache can give it."""
        last_forecast_day = today + timedelta(days=HORIZON_DAYS - 1)
        beyond = (
            max(start, last_forecast_day + timedelta(days=1)) if end > last_forecast_day else None
        )
        normals = _months(beyond, end, place) if beyond is not None else []
        if start > last_forecast_day:
            return WeatherReport([], beyond=beyond, normals=normals)
        first = max(start, today)
        fetched = await self._partners.fetch(
            self._weather,
            self._weather_url,
            forecast_params(place, first, min(end, last_forecast_day), units),
            parse_forecast,
        )
        return WeatherReport(fetched.value, fetched.stale, beyond, normals)

    async def events(
        self, place: Place, start: date, end: date, category: str | None, locale: str
    ) -> EventsReport:
        found = [
            LocalEvent(
                listed.name.get(locale) or listed.name["en"],
                listed.start,
                listed.end,
                listed.category,
                str(listed.url) if listed.url else None,
            )
            for listed in place.events
            if listed.start <= end and listed.end >= start
        ]
        stale, unread = False, 0
        for feed in place.calendars:
            try:
                fetched = await self._partners.fetch(
                    self._calendars, str(feed.url), {}, read_calendar
                )
                found += events_between(fetched.value, start, end, feed.category)
                stale = stale or fetched.stale
            except (PartnerError, ValueError):
                log.warning("calendar_feed_unread", place=place.slug, exc_info=True)
                unread += 1
        chosen = [event for event in found if category is None or event.category == category]
        return EventsReport(
            sorted(chosen, key=lambda event: (event.start, event.name)), stale, unread
        )


def _months(first: date, last: date, place: Place) -> list[tuple[int, Normals]]:
    months: list[int] = []
    day = first
    while day <= last and len(months) < 12:
        if day.month not in months:
            months.append(day.month)
        day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return [(month, place.climate[month]) for month in months]
