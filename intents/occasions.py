"""Holidays and seasons as stays: "réveillon", "Carnaval", "feriadão de novembro", "férias de
julho", "em janeiro", "o próximo feriado", in pt-BR, en and es.

Each occasion proposes the stay guests usually book for it, counted from a reference date (the
property's today): the next occurrence whose check-out is still ahead. Brazil's national
holidays, and Carnaval, Good Friday and Corpus Christi (moving with Easter), come from the
``holidays`` package year by year. A holiday's stay runs from the eve of its days off (the
holiday, the weekend it touches and the working day it bridges) to the last of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import holidays

from intents.text import fold

NEW_YEAR_STAY = ((12, 30), (1, 2))
"""Réveillon: arrive on the 30th, leave on the 2nd (the stay beach pousadas sell)."""
CHRISTMAS_STAY = ((12, 24), (12, 26))
JULY_NIGHTS = 7
HOLIDAY_DAYS = {"christmas": (12, 25), "new_year": (12, 31)}
"""The day itself, where a guest who says how long ("from Christmas for 3 nights") starts."""
NOT_DAYS_OFF = frozenset(
    {"Ash Wednesday", "Public Servant's Day", "Christmas Eve", "New Year's Eve"}
)
"""Optional days the holidays package lists that are not days off for guests (half days, or
days off for civil servants only)."""
NAMED_BY_PACKAGE = {
    "carnival": "Carnival",
    "easter": "Good Friday",
    "tiradentes": "Tiradentes' Day",
    "corpus_christi": "Corpus Christi",
}
"""Occasions whose date is a holiday of the package, by the package's English name."""
FIXED_HOLIDAYS = {
    "labour_day": (5, 1),
    "independence": (9, 7),
    "aparecida": (10, 12),
    "all_souls": (11, 2),
    "republic": (11, 15),
    "black_awareness": (11, 20),
}

_MONTHS = {
    "pt": ("janeiro", "fevereiro", "marco", "abril", "maio", "junho", "julho", "agosto",
           "setembro", "outubro", "novembro", "dezembro"),
    "en": ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
}  # fmt: skip

_PHRASES = {
    "pt": {
        "new_year": r"reveillon|ano novo|virada do ano|virada",
        "christmas": r"natal",
        "carnival": r"carnaval",
        "easter": r"semana santa|pascoa|sexta-feira santa|sexta feira santa",
        "tiradentes": r"tiradentes",
        "corpus_christi": r"corpus christi",
        "labour_day": r"dia do trabalh(?:o|ador)",
        "independence": r"independencia|sete de setembro",
        "aparecida": r"(?:nossa senhora )?aparecida|dia das criancas",
        "all_souls": r"finados",
        "republic": r"proclamacao da republica",
        "black_awareness": r"consciencia negra",
        "july_holidays": r"ferias de julho|ferias escolares de julho",
        "next_holiday": r"proximo feriado|feriado que vem",
        "long_weekend": r"feriadao|feriado prolongado|feriado",
        "in_month": r"em|no mes de|para|pra|durante|mes de",
    },
    "en": {
        "new_year": r"new year'?s eve|new year'?s|new years? eve|nye|reveillon",
        "christmas": r"christmas|xmas",
        "carnival": r"carnival|carnaval|mardi gras",
        "easter": r"easter|holy week|good friday",
        "tiradentes": r"tiradentes",
        "corpus_christi": r"corpus christi",
        "labour_day": r"labou?r day|may day",
        "independence": r"(?:brazil(?:ian)?'?s? )?independence day",
        "aparecida": r"(?:our lady of )?aparecida|children'?s day",
        "all_souls": r"all souls'? day|day of the dead",
        "republic": r"republic day|proclamation of the republic",
        "black_awareness": r"black (?:consciousness|awareness) day",
        "july_holidays": r"july (?:school )?(?:holidays?|vacation|break)",
        "next_holiday": r"next (?:public |bank )?holiday",
        "long_weekend": r"long weekend|bank holiday(?: weekend)?|holiday weekend",
        "in_month": r"in|during|for|this|next|in the month of",
    },
    "es": {
        "new_year": r"reveillon|ano nuevo|fin de ano|nochevieja",
        "christmas": r"navidad|nochebuena",
        "carnival": r"carnaval",
        "easter": r"semana santa|pascuas?|viernes santo",
        "tiradentes": r"tiradentes",
        "corpus_christi": r"corpus christi",
        "labour_day": r"dia del trabajo|dia del trabajador",
        "independence": r"independencia de brasil|dia de la independencia",
        "aparecida": r"(?:nuestra senora de )?aparecida|dia de los ninos",
        "all_souls": r"dia de (?:los )?(?:difuntos|muertos)|finados",
        "republic": r"proclamacion de la republica",
        "black_awareness": r"conciencia negra",
        "july_holidays": r"vacaciones de (?:julio|invierno)",
        "next_holiday": r"proximo feriado|proximo festivo|feriado que viene",
        "long_weekend": r"puente|feriado largo|fin de semana largo|finde largo|feriado",
        "in_month": r"en|durante|para|mes de|en el mes de",
    },
}
_LANGUAGE = {"pt_BR": "pt", "en": "en", "es": "es"}
_NAMED = (
    "new_year", "christmas", "carnival", "easter", "tiradentes", "corpus_christi",
    *FIXED_HOLIDAYS, "july_holidays",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Occasion:
    """A stay proposed for a holiday or season: ``name`` says which (templates name it)."""

    name: str
    check_in: date
    check_out: date

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days


def occasion_stay(text: str, locale: str, today: date) -> Occasion | None:
    """The usual stay of the holiday or season the text names, or None."""
    language = _LANGUAGE.get(locale, "pt")
    folded = fold(text)
    grammar = _grammar(language)
    for name in _NAMED:
        if grammar[name].search(folded):
            return _upcoming(name, today, _STAYS[name])
    if grammar["next_holiday"].search(folded):
        return _first_holiday_stay("next_holiday", today, min_nights=1)
    long_weekend = grammar["long_weekend"].search(folded)
    if long_weekend is not None:
        month = long_weekend.group("month") or long_weekend.group("month_first")
        if month is None:
            return _first_holiday_stay("long_weekend", today, min_nights=3)
        return _upcoming("long_weekend", today, _long_weekend(_MONTHS[language].index(month) + 1))
    month = grammar["in_month"].search(folded)
    if month is not None:
        number = _MONTHS[language].index(month.group("month")) + 1
        return _upcoming("month", today, lambda year: _first_weekend(year, number))
    return None


@cache
def _grammar(language: str) -> dict[str, re.Pattern[str]]:
    phrases = _PHRASES[language]
    months = "|".join(_MONTHS[language])
    grammar = {name: re.compile(rf"\b(?:{phrases[name]})\b") for name in (*_NAMED, "next_holiday")}
    grammar["long_weekend"] = re.compile(
        rf"\b(?:{phrases['long_weekend']})(?:\s+(?:de|do|em|in|en|del)\s+(?P<month>{months}))?\b"
        rf"|\b(?P<month_first>{months})\s+(?:{phrases['long_weekend']})\b"
    )
    grammar["in_month"] = re.compile(rf"\b(?:{phrases['in_month']})\s+(?P<month>{months})\b")
    return grammar


_Stay = tuple[date, date]
_StayOfYear = Callable[[int], _Stay | None]


def _upcoming(name: str, today: date, stay_of: _StayOfYear) -> Occasion | None:
    """The first occurrence whose check-out is ahead; a stay already begun starts today."""
    for year in range(today.year - 1, today.year + 3):
        stay = stay_of(year)
        if stay is not None and stay[1] > today:
            return Occasion(name, max(stay[0], today), stay[1])
    return None


@cache
def _days_off(year: int) -> dict[date, str]:
    """Brazil's national holidays (and Carnaval, Corpus Christi) of a year, by English name."""
    calendar = holidays.country_holidays(
        "BR", years=year, categories=("public", "optional"), language="en_US"
    )
    return {day: name for day, name in calendar.items() if name not in NOT_DAYS_OFF}


def _holidays_from(day: date) -> Iterator[date]:
    for year in (day.year, day.year + 1):
        yield from (holiday for holiday in sorted(_days_off(year)) if holiday >= day)


def _is_off(day: date) -> bool:
    return day.weekday() >= 5 or day in _days_off(day.year)


def _holiday_stay(day: date) -> _Stay:
    """From the eve of the days off around ``day`` to the last of them: a working day
    between two days off is bridged (a Thursday holiday takes the Friday)."""
    first = last = day
    while True:
        if _is_off(first - timedelta(days=1)):
            first -= timedelta(days=1)
        elif _is_off(first - timedelta(days=2)):
            first -= timedelta(days=2)
        else:
            break
    while True:
        if _is_off(last + timedelta(days=1)):
            last += timedelta(days=1)
        elif _is_off(last + timedelta(days=2)):
            last += timedelta(days=2)
        else:
            break
    return first - timedelta(days=1), last


def _named_day(name: str, year: int) -> date | None:
    if name in FIXED_HOLIDAYS:
        month, day_of_month = FIXED_HOLIDAYS[name]
        return date(year, month, day_of_month)
    wanted = NAMED_BY_PACKAGE[name]
    days = sorted(day for day, holiday in _days_off(year).items() if holiday == wanted)
    return days[-1] if days else None  # Carnaval is Monday and Tuesday: its last day


def _package_holiday(name: str) -> _StayOfYear:
    def stay_of(year: int) -> _Stay | None:
        day = _named_day(name, year)
        if day is None:
            return None
        check_in, last_off = _holiday_stay(day)
        # Carnaval guests leave on Ash Wednesday, after the last parade night.
        return check_in, last_off + timedelta(days=1) if name == "carnival" else last_off

    return stay_of


def _fixed(stay: tuple[tuple[int, int], tuple[int, int]]) -> _StayOfYear:
    (in_month, in_day), (out_month, out_day) = stay
    return lambda year: (
        date(year, in_month, in_day),
        date(year + (out_month < in_month), out_month, out_day),
    )


def _july(year: int) -> _Stay:
    saturday = date(year, 7, 1) + timedelta(days=(5 - date(year, 7, 1).weekday()) % 7)
    return saturday, saturday + timedelta(days=JULY_NIGHTS)


def _first_weekend(year: int, month: int) -> _Stay:
    friday = date(year, month, 1) + timedelta(days=(4 - date(year, month, 1).weekday()) % 7)
    return friday, friday + timedelta(days=2)


def _long_weekend(month: int) -> _StayOfYear:
    """The month's first holiday stay of three nights or more (else its first holiday's)."""

    def stay_of(year: int) -> _Stay | None:
        candidates = [_holiday_stay(day) for day in sorted(_days_off(year)) if day.month == month]
        long_ones = [stay for stay in candidates if (stay[1] - stay[0]).days >= 3]
        found = (long_ones or candidates)[:1]
        return found[0] if found else None

    return stay_of


def _first_holiday_stay(name: str, today: date, min_nights: int) -> Occasion | None:
    """The first holiday stay of at least ``min_nights`` whose check-out is ahead."""
    for day in _holidays_from(today):
        check_in, check_out = _holiday_stay(day)
        if check_out > today and (check_out - check_in).days >= min_nights:
            return Occasion(name, max(check_in, today), check_out)
    return None


_STAYS: dict[str, _StayOfYear] = {
    "new_year": _fixed(NEW_YEAR_STAY),
    "christmas": _fixed(CHRISTMAS_STAY),
    "july_holidays": _july,
    **{name: _package_holiday(name) for name in (*NAMED_BY_PACKAGE, *FIXED_HOLIDAYS)},
}


def holiday_day(name: str, today: date) -> date | None:
    """The next date of a fixed-date holiday on or after today (Christmas, New Year's Eve)."""
    if name not in HOLIDAY_DAYS:
        return None
    month, day = HOLIDAY_DAYS[name]
    this_year = date(today.year, month, day)
    return this_year if this_year >= today else date(today.year + 1, month, day)
