"""Stay dates in free text: check-in, check-out and nights, relative to a reference date.

A small grammar, compiled once per language: numeric dates, day and month names, ranges,
weekdays, weekends, "dia 5", "daqui a 2 semanas", "3 noites", and holidays and seasons as
their usual stays (``intents/occasions.py``). A date without a year is its
next occurrence on or after the reference date. dateparser was measured for this job and left
out: 0.3 to 0.6 ms per span, and no answer for "sexta que vem", "this weekend", "daqui a 2
semanas" or "mês que vem" (docs/nlu.md).
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from intents.occasions import holiday_day, occasion_stay
from intents.text import fold

MONTHS = {
    "pt": {
        "janeiro": 1, "jan": 1, "fevereiro": 2, "fev": 2, "marco": 3, "abril": 4,
        "abr": 4, "maio": 5, "mai": 5, "junho": 6, "jun": 6, "julho": 7, "jul": 7, "agosto": 8,
        "ago": 8, "setembro": 9, "set": 9, "outubro": 10, "out": 10, "novembro": 11, "nov": 11,
        "dezembro": 12, "dez": 12,
    },
    "en": {
        "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
        "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
        "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11,
        "nov": 11, "december": 12, "dec": 12,
    },
    "es": {
        "enero": 1, "ene": 1, "febrero": 2, "feb": 2, "marzo": 3, "abril": 4,
        "abr": 4, "mayo": 5, "may": 5, "junio": 6, "jun": 6, "julio": 7, "jul": 7, "agosto": 8,
        "ago": 8, "septiembre": 9, "setiembre": 9, "sept": 9, "sep": 9, "set": 9, "octubre": 10,
        "oct": 10, "noviembre": 11, "nov": 11, "diciembre": 12, "dic": 12,
    },
}  # fmt: skip

WEEKDAYS = {
    "pt": {"segunda": 0, "terca": 1, "quarta": 2, "quinta": 3, "sexta": 4, "sabado": 5,
           "domingo": 6},
    "en": {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
           "saturday": 5, "sunday": 6},
    "es": {"lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5,
           "domingo": 6},
}  # fmt: skip

NUMBER_WORDS = {
    "pt": {"um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5,
           "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10},
    "en": {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10},
    "es": {"un": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
           "siete": 7, "ocho": 8, "nueve": 9, "diez": 10},
}  # fmt: skip

_WORDS = {
    "pt": {
        "today": r"hoje", "tomorrow": r"amanha", "after_tomorrow": r"depois de amanha",
        "weekend": r"(?:fim de semana|final de semana|fds|finde)",
        "next": r"(?:que vem|proxim[oa]|seguinte)",
        "nights": r"(?:noites?|diarias?|pernoites?)", "week": r"semana",
        "range": r"(?:a|ate|ao|e|-|\u2013)",
        "day": r"(?:dia|no dia|a partir do dia|a partir de)", "of": r"(?:de|do)",
    },
    "en": {
        "today": r"today", "tomorrow": r"(?:tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow)",
        "after_tomorrow": r"day after tomorrow",
        "weekend": r"weekend", "next": r"next",
        "nights": r"nights?", "week": r"week",
        "range": r"(?:to|till|until|through|thru|-|\u2013|and)",
        "day": r"(?:the|on the|starting(?: on)?(?: the)?)", "of": r"(?:of)",
    },
    "es": {
        "today": r"hoy", "tomorrow": r"manana", "after_tomorrow": r"pasado manana",
        "weekend": r"(?:fin de semana|finde|fde)", "next": r"(?:que viene|proxim[oa]|siguiente)",
        "nights": r"noches?", "week": r"semana",
        "range": r"(?:al|a|hasta|y|-|\u2013)",
        "day": r"(?:el dia|dia|el|desde el|a partir del)", "of": r"(?:de|del)",
    },
}  # fmt: skip

_LANGUAGE = {"pt_BR": "pt", "en": "en", "es": "es"}


@dataclass(frozen=True, slots=True)
class StayDates:
    check_in: date | None = None
    check_out: date | None = None
    nights: int | None = None
    occasion: str | None = None
    """The holiday or season the stay was proposed for ("new_year"), when it was."""

    def as_entities(self) -> dict[str, str | int]:
        found: dict[str, str | int] = {}
        if self.occasion:
            found["occasion"] = self.occasion
        if self.check_in:
            found["checkin"] = self.check_in.isoformat()
        if self.check_out:
            found["checkout"] = self.check_out.isoformat()
        elif self.nights:
            found["nights"] = self.nights
        return found


@dataclass(frozen=True, slots=True)
class _Grammar:
    language: str
    month: str
    day_first: bool
    numeric_range: re.Pattern[str]
    named_range: re.Pattern[str]
    named_range_month_first: re.Pattern[str]
    numeric: re.Pattern[str]
    named: re.Pattern[str]
    named_month_first: re.Pattern[str]
    weekend: re.Pattern[str]
    weekday: re.Pattern[str]
    relative_day: re.Pattern[str]
    day_of_month: re.Pattern[str]
    nights: re.Pattern[str]
    week: re.Pattern[str]
    relative_span: re.Pattern[str]


@cache
def _grammar(language: str) -> _Grammar:
    words = _WORDS[language]
    month = "|".join(sorted(MONTHS[language], key=len, reverse=True))
    number = "|".join(NUMBER_WORDS[language])
    day = r"(\d{1,2})(?:st|nd|rd|th|º|o)?"
    numeric = r"(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2,4}))?"
    return _Grammar(
        language=language,
        month=month,
        day_first=language != "en",
        numeric_range=re.compile(rf"\b{numeric}\s*{words['range']}\s*{numeric}\b"),
        named_range=re.compile(
            rf"\b{day}(?:\s*{words['of']})?(?:\s+({month}))?\s*{words['range']}\s*(?:{words['day']}\s+)?"
            rf"{day}\s*(?:{words['of']}\s+)?({month})\b"
        ),
        named_range_month_first=re.compile(
            rf"\b({month})\.?\s+{day}\s*{words['range']}\s*(?:({month})\.?\s+)?{day}\b"
        ),
        numeric=re.compile(rf"\b{numeric}\b"),
        named=re.compile(rf"\b{day}\s*(?:{words['of']}\s+)?({month})\b"),
        named_month_first=re.compile(rf"\b({month})\.?\s+{day}\b"),
        weekend=re.compile(
            rf"\b(?:({words['next']})\s+)?{words['weekend']}(?:\s+({words['next']}))?\b"
        ),
        weekday=re.compile(rf"\b({'|'.join(WEEKDAYS[language])})(?:-feira| feira)?\b"),
        relative_day=re.compile(
            rf"\b({words['after_tomorrow']}|{words['tomorrow']}|{words['today']})\b"
        ),
        day_of_month=re.compile(rf"\b{words['day']}\s+{day}\b(?!\s*[/.:h]\d)"),
        nights=re.compile(rf"\b(\d{{1,2}}|{number})\s+{words['nights']}\b"),
        week=re.compile(
            rf"(?<!mais de )(?<!more than )(?<!mas de )\b(?:uma|one|a|una|1)\s+{words['week']}\b"
        ),
        relative_span=re.compile(
            rf"\b(?:daqui a|daqui|dentro de|em|in|en)\s+(\d{{1,2}}|{number})\s+"
            r"(dias?|semanas?|mes(?:es)?|days?|weeks?|months?)\b"
        ),
    )


def stay_dates(text: str, locale: str, today: date) -> StayDates:
    language = _LANGUAGE.get(locale, "pt")
    grammar = _grammar(language)
    folded = fold(text)
    nights = _nights(grammar, folded)
    span = _range(grammar, folded, today)
    if span is not None:
        return StayDates(check_in=span[0], check_out=span[1])
    mentions = _mentions(grammar, folded, today)
    occasion = None if mentions else occasion_stay(text, locale, today)
    if occasion is not None:  # "réveillon", "feriadão de novembro", "em janeiro"
        if nights is not None:  # the guest's own length: no longer the occasion's usual stay
            start = holiday_day(occasion.name, today) or occasion.check_in
            return StayDates(start, start + timedelta(days=nights))
        return StayDates(occasion.check_in, occasion.check_out, occasion=occasion.name)
    weekend = grammar.weekend.search(folded)
    if weekend is not None and nights is None:
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if weekend.group(1) or weekend.group(2):
            saturday += timedelta(days=7)
        return StayDates(check_in=saturday, check_out=saturday + timedelta(days=2))
    if len(mentions) >= 2 and mentions[1] > mentions[0] and nights is None:
        return StayDates(check_in=mentions[0], check_out=mentions[1])  # "chego dia 5 e saio dia 9"
    check_in = mentions[0] if mentions else None
    if check_in is None and weekend is not None:
        check_in = today + timedelta(days=(5 - today.weekday()) % 7)
    return StayDates(check_in=check_in, nights=nights)


def _nights(grammar: _Grammar, folded: str) -> int | None:
    found = grammar.nights.search(folded)
    if found is not None:
        return _number(grammar.language, found.group(1))
    if grammar.week.search(folded):
        return 7
    return None


def _number(language: str, token: str) -> int:
    return int(token) if token.isdigit() else NUMBER_WORDS[language][token]


def _range(grammar: _Grammar, folded: str, today: date) -> tuple[date, date] | None:
    months = MONTHS[grammar.language]
    found = grammar.numeric_range.search(folded)
    if found is not None:
        first = _numeric(grammar, found.group(1), found.group(2), found.group(3))
        second = _numeric(grammar, found.group(4), found.group(5), found.group(6))
        return _ordered(first, second, today)
    found = grammar.named_range.search(folded)
    if found is not None:
        end_month = months[found.group(4)]
        start_month = months[found.group(2)] if found.group(2) else end_month
        return _ordered(
            (int(found.group(1)), start_month, None), (int(found.group(3)), end_month, None), today
        )
    found = grammar.named_range_month_first.search(folded)
    if found is not None:
        start_month = months[found.group(1)]
        end_month = months[found.group(3)] if found.group(3) else start_month
        return _ordered(
            (int(found.group(2)), start_month, None), (int(found.group(4)), end_month, None), today
        )
    return None


_DayMonthYear = tuple[int, int, int | None]


def _numeric(grammar: _Grammar, first: str, second: str, year: str | None) -> _DayMonthYear:
    day, month = (int(first), int(second)) if grammar.day_first else (int(second), int(first))
    full_year = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
    return day, month, full_year


def _ordered(first: _DayMonthYear, second: _DayMonthYear, today: date) -> tuple[date, date] | None:
    start = _resolve(first, today)
    if start is None:
        return None
    end = _resolve(second, start)
    if end is None or end <= start:
        return None
    return start, end


def _resolve(day_month_year: _DayMonthYear, not_before: date) -> date | None:
    """The date, or without a year its next occurrence on or after ``not_before``."""
    day, month, year = day_month_year
    if year is not None:
        return _valid_date(year, month, day)
    # 29/2 comes round only in leap years, at most eight years apart (2096 → 2104).
    for candidate_year in range(not_before.year, not_before.year + 9):
        candidate = _valid_date(candidate_year, month, day)
        if candidate is not None and candidate >= not_before:
            return candidate
    return None


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


_Reader = Callable[[re.Match[str], date], date | None]


def _readers(grammar: _Grammar, today: date) -> list[tuple[re.Pattern[str], _Reader]]:
    """Each date shape with how to read it; calendar dates without a year take the next
    occurrence on or after a reference date (today, or the check-in for a check-out)."""
    months = MONTHS[grammar.language]
    words = _WORDS[grammar.language]
    weekdays = WEEKDAYS[grammar.language]
    return [
        (grammar.numeric, lambda m, ref: _resolve(_numeric(grammar, *m.group(1, 2, 3)), ref)),
        (grammar.named, lambda m, ref: _resolve((int(m.group(1)), months[m.group(2)], None), ref)),
        (
            grammar.named_month_first,
            lambda m, ref: _resolve((int(m.group(2)), months[m.group(1)], None), ref),
        ),
        (
            grammar.relative_day,
            lambda m, ref: today + timedelta(days=_days_ahead(m.group(1), words)),
        ),
        (
            grammar.weekday,
            lambda m, ref: (
                today + timedelta(days=(weekdays[m.group(1)] - today.weekday() - 1) % 7 + 1)
            ),
        ),
        (grammar.day_of_month, lambda m, ref: _next_day_of_month(int(m.group(1)), ref)),
        (grammar.relative_span, lambda m, ref: _later(grammar.language, m, today)),
    ]


def _mentions(grammar: _Grammar, folded: str, today: date) -> list[date]:
    """The dates the text names, in reading order, at most two (arrival and departure).

    Where two readings overlap ("dia 5 de janeiro") the more specific one wins, and a second
    date is read on or after the first ("5 de janeiro ... saio dia 9" is January 9)."""
    taken: list[tuple[int, int, re.Match[str], _Reader]] = []
    for pattern, read in _readers(grammar, today):
        for found in pattern.finditer(folded):
            start, end = found.span()
            if not any(
                start < other_end and other_start < end for other_start, other_end, *_ in taken
            ):
                taken.append((start, end, found, read))
    taken.sort(key=lambda mention: mention[0])
    dates: list[date] = []
    for _, _, found, read in taken:
        resolved = read(found, dates[0] if dates else today)
        if resolved is not None:
            dates.append(resolved)
        if len(dates) == 2:
            break
    return dates


def _days_ahead(word: str, words: dict[str, str]) -> int:
    if re.fullmatch(words["after_tomorrow"], word):
        return 2
    return 0 if re.fullmatch(words["today"], word) else 1


def _later(language: str, found: re.Match[str], today: date) -> date:
    count = _number(language, found.group(1))
    unit = found.group(2)[0]  # d(ias, ays), s(emanas) / w(eeks), m(eses, onths)
    if unit == "m":
        return _months_later(today, count)
    return today + timedelta(days=count * (1 if unit == "d" else 7))


def _months_later(today: date, count: int) -> date:
    month_index = today.month - 1 + count
    year, month = today.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(today.day, monthrange(year, month)[1]))


def _next_day_of_month(day: int, today: date) -> date | None:
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def names_a_month(text: str, locale: str) -> bool:
    """Whether the text says which month it means ("20/12", "20 de dezembro"), unlike "dia 21"."""
    grammar = _grammar(_LANGUAGE.get(locale, "pt"))
    folded = fold(text)
    return any(
        pattern.search(folded)
        for pattern in (grammar.numeric, grammar.named, grammar.named_month_first)
    )
