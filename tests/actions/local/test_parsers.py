"""The parsers of partner answers, on anything a partner may send: Open-Meteo's forecast and
the iCal feeds either give their values or raise ValueError, nothing else."""

from __future__ import annotations

import contextlib
import json
from datetime import date, timedelta

import icalendar
from hypothesis import given
from hypothesis import strategies as st

from actions.local.calendars import events_between, read_calendar
from actions.local.weather import DAILY, parse_forecast

JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=30), children, max_size=5)
    ),
    max_leaves=30,
)
VALUE = st.none() | st.floats(min_value=-80, max_value=80, allow_nan=False) | st.integers(0, 100)


@given(st.text(max_size=300))
def test_any_text_is_a_forecast_or_a_value_error(body: str) -> None:
    with contextlib.suppress(ValueError):
        assert isinstance(parse_forecast(body), list)


@given(st.dictionaries(st.sampled_from(["daily", "error", "reason", "latitude"]), JSON, max_size=4))
def test_any_json_document_is_a_forecast_or_a_value_error(document: dict[str, object]) -> None:
    with contextlib.suppress(ValueError):
        assert isinstance(parse_forecast(json.dumps(document)), list)


@given(
    st.dictionaries(
        st.sampled_from(["time", *DAILY]),
        st.lists(JSON | VALUE, max_size=4),
        max_size=len(DAILY) + 1,
    )
)
def test_any_daily_block_is_a_forecast_or_a_value_error(daily: dict[str, object]) -> None:
    try:
        days = parse_forecast(json.dumps({"daily": daily}))
    except ValueError:
        return
    assert len(days) == len(daily["time"])  # type: ignore[arg-type]


@given(st.lists(st.tuples(*[VALUE] * len(DAILY)), min_size=1, max_size=16))
def test_a_well_formed_forecast_reads_back_every_value(rows: list[tuple[object, ...]]) -> None:
    first = date(2026, 12, 2)
    daily: dict[str, list[object]] = {
        "time": [(first + timedelta(days=n)).isoformat() for n in range(len(rows))]
    }
    for column, name in enumerate(DAILY):
        daily[name] = [row[column] for row in rows]
    days = parse_forecast(json.dumps({"daily_units": {}, "daily": daily}))
    assert [day.day for day in days] == [first + timedelta(days=n) for n in range(len(rows))]
    assert [day.high for day in days] == [None if v is None else float(v) for v in daily[DAILY[0]]]  # type: ignore[arg-type]


LINES = st.sampled_from(
    [
        "BEGIN:VCALENDAR", "END:VCALENDAR", "BEGIN:VEVENT", "END:VEVENT", "VERSION:2.0",
        "SUMMARY:Samba", "DTSTART;VALUE=DATE:20261204", "DTSTART:20261204T200000",
        "DTEND;VALUE=DATE:20261206", "DTSTART:not-a-date", "RRULE:FREQ=WEEKLY;COUNT=3",
        "RRULE:FREQ=DAILY", "RRULE:FREQ=NOPE", "URL:https://agenda.example/x", "URL:javascript:x",
        "EXDATE:20261211T200000", "DURATION:PT2H", "DURATION:garbage", "BEGIN:VTIMEZONE",
        "TZID:America/Sao_Paulo", "DTSTART;TZID=Nowhere/Else:20261204T200000",
    ]
)  # fmt: skip


@given(st.lists(LINES | st.text(max_size=40), max_size=14))
def test_any_feed_is_events_or_a_value_error(lines: list[str]) -> None:
    try:
        calendar = read_calendar("\r\n".join(lines))
        events = events_between(calendar, date(2026, 12, 1), date(2026, 12, 31), "music")
    except ValueError:
        return
    assert all(event.start <= event.end and event.name for event in events)
    assert all(event.url is None or event.url.startswith("http") for event in events)


def test_a_weekly_rule_is_expanded_within_the_period_only() -> None:
    calendar = icalendar.Calendar()
    event = icalendar.Event()
    event.add("summary", "Samba")
    event.add("dtstart", date(2026, 12, 4))
    event.add("rrule", {"freq": "weekly", "count": 10})
    calendar.add_component(event)
    text = calendar.to_ical().decode()
    found = events_between(read_calendar(text), date(2026, 12, 10), date(2026, 12, 31), "music")
    assert [event.start for event in found] == [
        date(2026, 12, 11),
        date(2026, 12, 18),
        date(2026, 12, 25),
    ]
