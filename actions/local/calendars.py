"""Events from a property's iCal feeds: the feed read with ``icalendar``, its recurrences
expanded over the asked period with ``recurring-ical-events``. A feed that is not a calendar,
or whose rules cannot be expanded, is a ``ValueError``: the caller skips that feed and goes on.

Pure: the partner client fetches and caches the feed; ``read_calendar`` is what it checks an
answer with, ``events_between`` what the guide asks of it per period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import icalendar
import recurring_ical_events

MAX_EVENTS_PER_FEED = 200
"""A feed's events in one period beyond which the rest are left out (a runaway recurrence)."""


@dataclass(frozen=True, slots=True)
class LocalEvent:
    name: str
    start: date
    end: date
    category: str
    url: str | None = None


def read_calendar(text: str) -> icalendar.Calendar:
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except Exception as error:  # icalendar raises several kinds for a broken feed
        raise ValueError(f"not an iCalendar feed: {type(error).__name__}") from error
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise ValueError("not a VCALENDAR")
    return calendar


def events_between(
    calendar: icalendar.Calendar, start: date, end: date, category: str
) -> list[LocalEvent]:
    """The feed's events (recurrences expanded) that touch ``start``..``end``, both included."""
    try:
        found = recurring_ical_events.of(calendar).between(start, end + timedelta(days=1))
        events = [_event(component, category) for component in found[:MAX_EVENTS_PER_FEED]]
    except Exception as error:  # a rule or a date the expansion cannot follow
        raise ValueError(f"calendar cannot be expanded: {type(error).__name__}") from error
    return sorted((event for event in events if event is not None), key=lambda e: e.start)


def _event(component: icalendar.Event, category: str) -> LocalEvent | None:
    name = str(component.get("SUMMARY", "")).strip()
    begins = _day(component.get("DTSTART"))
    if not name or begins is None:
        return None  # nothing a guest could be told
    ends = _day(component.get("DTEND"))
    if ends is not None and ends > begins and not isinstance(component.decoded("DTEND"), datetime):
        ends -= timedelta(days=1)  # an all-day event's DTEND is the day after it
    url = component.get("URL")
    return LocalEvent(
        name[:200],
        begins,
        max(ends or begins, begins),
        category,
        str(url) if url and str(url).startswith(("https://", "http://")) else None,
    )


def _day(value: object) -> date | None:
    moment = getattr(value, "dt", None)
    if isinstance(moment, datetime):
        return moment.date()
    if isinstance(moment, date):
        return moment
    return None
