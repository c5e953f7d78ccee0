"""The ``weather`` and ``events`` intents for guests.

The place is the property the question names ("em Paraty"), else the conversation's, else the
default one; the dates are read as stay dates are (``intents.dates``) in the property's time
zone, else the next days. A partner that cannot answer gets the guest a polite apology (or,
over the rate limit, "try again in a minute"), never an error; a stale answer says so.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from actions.booking.quotes import Quotes
from actions.local.guide import LocalGuide, WeatherReport
from actions.local.places import Place
from actions.local.weather import HORIZON_DAYS, Units, day_kind, units_of
from actions.services import Services
from bot import Context, Outcome, Router
from bot.core.types import Image
from bot.outbound.media import MediaLibrary
from bot.partners.client import PartnerError
from intents.dates import MONTHS, stay_dates
from intents.text import fold

WEATHER_DAYS = 5
"""Days answered when the guest names none."""
MAX_DAYS = 14
CHART_DAYS = 3
"""From this many days a chart comes with the answer."""
MAX_EVENTS = 8
CATEGORIES_FILE = Path(__file__).resolve().parent / "categories.yaml"


@dataclass(frozen=True, slots=True)
class LocalDesk:
    guide: LocalGuide
    default_property: str
    events_days: int
    categories: dict[str, dict[str, list[str]]]
    words: Callable[[str, str, Mapping[str, Any]], str]
    """Renders a template in a locale as plain text (chart words, the chart's description)."""


def load_categories(path: Path = CATEGORIES_FILE) -> dict[str, dict[str, list[str]]]:
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


async def place_of(context: Context[Services], desk: LocalDesk) -> Place | None:
    found = await context.services.get(Quotes).find_properties(context.message.text or "")
    slug = found[0].slug if found else context.session.data.get("property", desk.default_property)
    return desk.guide.places.get(slug)


def period(text: str, locale: str, today: date, default_days: int) -> tuple[date, date]:
    """The days a question is about: a stay's days (departure included), one day, or the next
    ``default_days``; never in the past, at most ``MAX_DAYS`` for weather."""
    named = stay_dates(text, locale, today)
    # A month named alone is a booking's first weekend of it, but the whole month here.
    if named.check_in is None or named.occasion == "month":
        month = named_month(text, locale, today)
        if month is not None:
            return month
    start = max(named.check_in or today, today)
    if named.check_out is not None:
        end = named.check_out
    elif named.nights:
        end = start + timedelta(days=named.nights)
    elif named.check_in is not None:
        end = start
    else:
        end = today + timedelta(days=default_days - 1)
    return start, max(end, start)


def named_month(text: str, locale: str, today: date) -> tuple[date, date] | None:
    """A month named alone ("em dezembro"): its days from today on, this year or next."""
    names = MONTHS[locale.split("_")[0]]
    # Short forms ("mar", "set") are everyday words too: only full month names count here.
    month = next(
        (
            names[word]
            for word in re.findall(r"[a-z]+", fold(text))
            if len(word) > 3 and word in names
        ),
        None,
    )
    if month is None:
        return None
    year = today.year + (month < today.month)
    first = max(date(year, month, 1), today)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, following - timedelta(days=1)


async def weather(context: Context[Services]) -> Outcome:
    desk = context.services.get(LocalDesk)
    place = await place_of(context, desk)
    if place is None:
        return Outcome("local/unknown_place")
    text = context.message.text or ""
    today = context.services.today(place.timezone)
    start, end = period(text, context.locale, today, WEATHER_DAYS)
    end = min(end, start + timedelta(days=MAX_DAYS - 1))
    units = units_of(text, context.session.data.get("units"))
    context.session.data["units"] = units
    try:
        report = await desk.guide.weather(place, start, end, units, today)
    except PartnerError as error:
        busy = error.failure == "rate_limited"
        return Outcome("local/weather_busy" if busy else "local/weather_unavailable")
    values = weather_values(report, place, units, context.locale, start, end)
    image = await _chart(context, desk, report, units) if len(report.days) >= CHART_DAYS else None
    return Outcome("local/weather", values, image=image)


def weather_values(
    report: WeatherReport, place: Place, units: Units, locale: str, start: date, end: date
) -> dict[str, Any]:
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "imperial": units == "imperial",
        "stale": report.stale,
        "days": [
            {
                "day": day.day.isoformat(),
                "high": _shown(day.high),
                "low": _shown(day.low),
                "rain_chance": _shown(day.rain_chance),
                "rain": _shown(day.rain, 1),
                "wind": _shown(day.wind),
                "uv": _shown(day.uv),
                "suggestion": place.suggestions[day_kind(day, units)][locale],
            }
            for day in report.days
        ],
        "beyond": report.beyond.isoformat() if report.beyond else None,
        "normals": [
            {
                "first": date(
                    report.beyond.year + (month < report.beyond.month), month, 1
                ).isoformat(),
                "high": _degrees(normals.high, units),
                "low": _degrees(normals.low, units),
                "rain_days": normals.rain_days,
            }
            for month, normals in report.normals
            if report.beyond is not None
        ],
    }


async def _chart(
    context: Context[Services], desk: LocalDesk, report: WeatherReport, units: Units
) -> Image:
    # matplotlib is loaded on the first chart, not by every worker at start-up.
    from actions.local.charts import weather_chart

    words = desk.words("local/chart_words", context.locale, {"imperial": units == "imperial"})
    high, low, rain, temperature = words.splitlines()[:4]
    labels = [
        desk.words("local/day_label", context.locale, {"day": d.day.isoformat()})
        for d in report.days
    ]
    png = weather_chart(
        report.days, labels, {"high": high, "low": low, "rain": rain, "temperature": temperature}
    )
    alt = desk.words("local/chart_alt", context.locale, {"count": len(report.days)})
    return await context.services.get(MediaLibrary).publish(png, "image/png", alt)


async def events(context: Context[Services]) -> Outcome:
    desk = context.services.get(LocalDesk)
    place = await place_of(context, desk)
    if place is None:
        return Outcome("local/unknown_place")
    text = context.message.text or ""
    today = context.services.today(place.timezone)
    start, end = period(text, context.locale, today, desk.events_days)
    category = category_of(text, context.locale, desk.categories)
    report = await desk.guide.events(place, start, end, category, context.locale)
    values: dict[str, Any] = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "stale": report.stale,
        "unread": report.unread,
        "events": [
            {"name": e.name, "start": e.start.isoformat(), "end": e.end.isoformat(), "url": e.url}
            for e in report.events[:MAX_EVENTS]
        ],
        "more": max(len(report.events) - MAX_EVENTS, 0),
        "ideas": [words[context.locale] for words in place.suggestions.values()],
    }
    return Outcome("local/events" if report.events else "local/no_events", values)


def category_of(text: str, locale: str, categories: dict[str, dict[str, list[str]]]) -> str | None:
    folded = f" {fold(text)} "
    for category, words in categories.items():
        if any(f" {word} " in folded for word in words.get(locale, [])):
            return category
    return None


def _shown(value: float | None, digits: int = 0) -> str:
    """A value as the answer shows it; a dash where the forecast has none."""
    if value is None:
        return "-"
    return str(round(value, digits) if digits else round(value))


def _degrees(celsius: float, units: Units) -> int:
    return round(celsius * 9 / 5 + 32) if units == "imperial" else round(celsius)


def create_router() -> Router[Services]:
    router: Router[Services] = Router("local")
    router.intent("weather")(weather)
    router.intent("events")(events)
    return router


def stay_weather(
    desk: LocalDesk, today: Callable[[str], date]
) -> Callable[[str, date, date, str], Awaitable[str | None]]:
    """The booking offers' weather line for a stay: only when the forecast reaches the dates
    and is fresh (a stay weeks away, or a stale copy, says nothing worth a line)."""

    async def line(slug: str, check_in: date, check_out: date, locale: str) -> str | None:
        place = desk.guide.places.get(slug)
        if place is None:
            return None
        now = today(place.timezone)
        if (check_in - now).days >= HORIZON_DAYS:
            return None
        report = await desk.guide.weather(place, check_in, check_out, "metric", now)
        known = [day for day in report.days if day.high is not None and day.low is not None]
        if report.stale or not known:
            return None
        rainy = sum(day_kind(day, "metric") == "rainy" for day in known)
        values = {
            "low": round(min(day.low for day in known if day.low is not None)),
            "high": round(max(day.high for day in known if day.high is not None)),
            "rainy": rainy,
            "count": len(known),
        }
        return desk.words("local/stay_weather", locale, values)

    return line
