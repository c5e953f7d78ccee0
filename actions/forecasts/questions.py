"""What a staff question asks: the kind (demand, cancellation risk, price) and the period.

Words are data (``questions.yaml``); month names and explicit dates reuse the NLU's grammar
(``intents.dates``). A period is clipped to the models' reach: tomorrow to 90 days ahead.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import yaml

from actions.forecasts.reach import HORIZON, public_holidays
from intents.dates import MONTHS, stay_dates
from intents.text import fold

QUESTIONS_FILE = Path(__file__).resolve().parent / "questions.yaml"
KINDS = ("demand", "cancellation", "price")
DEFAULT_DAYS = {"demand": 30, "cancellation": 7, "price": 14}
MONTH_NAME_MIN = 4
"""Short month names ("mar", "dez", "may", "set") are everyday words in another sense."""


@dataclass(frozen=True, slots=True)
class Question:
    kind: str
    start: date
    end: date
    clipped: bool = False
    holiday: date | None = None

    def as_arguments(self) -> dict[str, str | bool | None]:
        """The question as a job's JSON arguments (``from_arguments`` reads them back)."""
        return {
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "clipped": self.clipped,
            "holiday": self.holiday.isoformat() if self.holiday else None,
        }

    @classmethod
    def from_arguments(
        cls, kind: str, start: str, end: str, clipped: bool, holiday: str | None
    ) -> Question:
        return cls(
            kind,
            date.fromisoformat(start),
            date.fromisoformat(end),
            clipped,
            date.fromisoformat(holiday) if holiday else None,
        )


@cache
def _phrases() -> dict[str, dict[str, re.Pattern[str]]]:
    document = yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8"))
    compiled: dict[str, dict[str, re.Pattern[str]]] = {}
    for group in ("kinds", "periods"):
        compiled[group] = {
            name: re.compile(
                r"\b(?:"
                + "|".join(re.escape(fold(p)) for ps in by_locale.values() for p in ps)
                + ")"
            )
            for name, by_locale in document[group].items()
        }
    return compiled


def _months() -> dict[str, int]:
    return {
        name: number
        for names in MONTHS.values()
        for name, number in names.items()
        if len(name) >= MONTH_NAME_MIN
    }


def read_question(text: str, locale: str, today: date) -> Question:
    folded = fold(text)
    phrases = _phrases()
    kind = next((k for k, pattern in phrases["kinds"].items() if pattern.search(folded)), "demand")
    start, end, holiday = _period(folded, text, locale, today, kind)
    first, last = today + timedelta(days=1), today + timedelta(days=HORIZON)
    clipped = end > last
    start, end = max(start, first), min(end, last)
    if start > end:
        start, end = first, min(first + timedelta(days=DEFAULT_DAYS[kind] - 1), last)
    return Question(kind, start, end, clipped, holiday)


def _period(
    folded: str, text: str, locale: str, today: date, kind: str
) -> tuple[date, date, date | None]:
    periods = _phrases()["periods"]
    if periods["holiday"].search(folded):
        upcoming = sorted(day for day in public_holidays(today.year) if day > today)
        day = upcoming[0]
        return day - timedelta(days=1), day + timedelta(days=1), day
    if periods["this_week"].search(folded):
        return today, today + timedelta(days=6 - today.weekday()), None
    if periods["next_week"].search(folded):
        monday = today + timedelta(days=7 - today.weekday())
        return monday, monday + timedelta(days=6), None
    if periods["next_month"].search(folded):
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        return _month(year, month)
    if periods["this_month"].search(folded):
        return _month(today.year, today.month)
    for name, month in _months().items():
        if re.search(rf"\b{name}\b", folded):
            this_year = _month(today.year, month)
            return this_year if this_year[1] > today else _month(today.year + 1, month)
    stay = stay_dates(text, locale, today)
    if stay.check_in is not None:
        end = stay.check_out or stay.check_in + timedelta(days=stay.nights or 1)
        return stay.check_in, max(end - timedelta(days=1), stay.check_in), None
    return today + timedelta(days=1), today + timedelta(days=DEFAULT_DAYS[kind]), None


def _month(year: int, month: int) -> tuple[date, date, None]:
    return date(year, month, 1), date(year, month, monthrange(year, month)[1]), None
