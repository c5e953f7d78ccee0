"""Holidays and seasons as stays, checked against the calendar's own rules (Easter's date from
dateutil, weekdays from the date) from several reference days, in the three languages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.easter import easter
from hypothesis import given
from hypothesis import strategies as st

from intents.dates import stay_dates
from intents.occasions import occasion_stay

DAYS = [date(2026, 12, 2), date(2027, 3, 1), date(2027, 12, 31), date(2028, 6, 15)]


def _next(stay_of_year: object, today: date) -> tuple[date, date]:
    assert callable(stay_of_year)
    for year in range(today.year - 1, today.year + 3):
        check_in, check_out = stay_of_year(year)
        if check_out > today:
            return max(check_in, today), check_out
    raise AssertionError("no occurrence")


def _friday_before(day: date) -> date:
    return day - timedelta(days=(day.weekday() - 4) % 7 or 7)


RULES = {
    "new_year": lambda year: (date(year, 12, 30), date(year + 1, 1, 2)),
    "christmas": lambda year: (date(year, 12, 24), date(year, 12, 26)),
    # Carnaval Tuesday is 47 days before Easter: from the Friday before to Ash Wednesday
    "carnival": lambda year: (easter(year) - timedelta(days=51), easter(year) - timedelta(days=46)),
    # Good Friday: Thursday to Easter Sunday
    "easter": lambda year: (easter(year) - timedelta(days=3), easter(year)),
    # Corpus Christi is a Thursday, 60 days after Easter; its Friday is bridged
    "corpus_christi": lambda year: (
        easter(year) + timedelta(days=59),
        easter(year) + timedelta(days=63),
    ),
}
SAID = {
    "new_year": {"pt_BR": "tem vaga pro réveillon?", "en": "any room for NYE?",
                 "es": "habitación para año nuevo"},
    "christmas": {"pt_BR": "quarto pro natal", "en": "a room for christmas",
                  "es": "para navidad"},
    "carnival": {"pt_BR": "pacote de carnaval", "en": "carnival in the beach",
                 "es": "para el carnaval"},
    "easter": {"pt_BR": "feriado da semana santa", "en": "easter weekend",
               "es": "en semana santa"},
    "corpus_christi": {"pt_BR": "feriado de corpus christi", "en": "corpus christi holiday",
                       "es": "para corpus christi"},
}  # fmt: skip


@pytest.mark.parametrize("today", DAYS)
@pytest.mark.parametrize("locale", ["pt_BR", "en", "es"])
@pytest.mark.parametrize("occasion", sorted(RULES))
def test_each_holiday_is_its_usual_stay(occasion: str, locale: str, today: date) -> None:
    found = stay_dates(SAID[occasion][locale], locale, today)
    assert found.occasion == occasion
    assert (found.check_in, found.check_out) == _next(RULES[occasion], today)


@pytest.mark.parametrize(
    ("text", "locale"),
    [("feriadão de novembro", "pt_BR"), ("november long weekend", "en"),
     ("puente de noviembre", "es")],
)  # fmt: skip
@pytest.mark.parametrize("today", DAYS)
def test_a_long_weekend_of_a_month_covers_a_weekend_and_its_holiday(
    text: str, locale: str, today: date
) -> None:
    found = occasion_stay(text, locale, today)
    assert found is not None
    assert found.name == "long_weekend"
    assert found.check_in > today
    days_off = [found.check_in + timedelta(days=n + 1) for n in range(found.nights)]
    assert any(day.month == 11 and day.day in (2, 15, 20) for day in days_off)
    assert any(day.weekday() >= 5 for day in days_off)
    assert found.nights >= 3


@pytest.mark.parametrize(
    ("text", "locale"), [("o próximo feriado", "pt_BR"), ("next holiday", "en"),
                         ("el próximo feriado", "es")],
)  # fmt: skip
def test_the_next_holiday_is_the_first_one_ahead(text: str, locale: str) -> None:
    today = date(2027, 4, 1)  # Good Friday 2027 was March 26: Tiradentes (Wed 21/4) is next
    found = occasion_stay(text, locale, today)
    assert found is not None
    assert (found.check_in, found.check_out) == (date(2027, 4, 20), date(2027, 4, 21))


@pytest.mark.parametrize(
    ("text", "locale", "month"),
    [("férias de julho", "pt_BR", 7), ("july holidays", "en", 7), ("vacaciones de julio", "es", 7),
     ("quero ir em janeiro", "pt_BR", 1), ("in march", "en", 3), ("en mayo", "es", 5)],
)  # fmt: skip
@pytest.mark.parametrize("today", DAYS)
def test_seasons_and_months_propose_a_stay_in_them(
    text: str, locale: str, month: int, today: date
) -> None:
    found = stay_dates(text, locale, today)
    assert found.check_in is not None
    assert found.check_out is not None
    assert found.check_in.month == month
    assert found.check_in >= today
    weekday = 5 if found.occasion == "july_holidays" else 4  # a week from Saturday, or a weekend
    assert found.check_in.weekday() == weekday or found.check_in == today


def test_a_stay_already_begun_starts_today() -> None:
    found = occasion_stay("réveillon", "pt_BR", date(2026, 12, 31))
    assert found is not None
    assert (found.check_in, found.check_out) == (date(2026, 12, 31), date(2027, 1, 2))


def test_explicit_dates_win_over_the_occasion_and_nights_change_its_length() -> None:
    explicit = stay_dates("réveillon de 29/12 a 3/1", "pt_BR", DAYS[0])
    assert (explicit.check_in, explicit.check_out, explicit.occasion) == (
        date(2026, 12, 29), date(2027, 1, 3), None,
    )  # fmt: skip
    longer = stay_dates("5 noites no réveillon", "pt_BR", DAYS[0])
    assert (longer.check_in, longer.check_out) == (date(2026, 12, 31), date(2027, 1, 5))


@given(st.text(max_size=200), st.dates(date(2000, 1, 1), date(2090, 12, 31)))
def test_any_text_on_any_day_gives_an_upcoming_stay_or_none(text: str, today: date) -> None:
    for locale in ("pt_BR", "en", "es"):
        found = occasion_stay(text, locale, today)
        assert found is None or today <= found.check_in < found.check_out
