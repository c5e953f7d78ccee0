"""Stay dates and guests, relative to a Wednesday, 2026-12-02, in the three languages."""

from __future__ import annotations

from datetime import date

import pytest

from intents.dates import stay_dates
from intents.entities import EntityExtractor
from intents.guests import guests

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("quero reservar amanhã", "pt_BR", {"checkin": "2026-12-03"}),
        ("depois de amanhã", "pt_BR", {"checkin": "2026-12-04"}),
        ("sexta que vem", "pt_BR", {"checkin": "2026-12-04"}),
        ("next friday", "en", {"checkin": "2026-12-04"}),
        ("el viernes", "es", {"checkin": "2026-12-04"}),
        ("quarta-feira", "pt_BR", {"checkin": "2026-12-09"}),
        ("this weekend", "en", {"checkin": "2026-12-05", "checkout": "2026-12-07"}),
        ("tem vaga pro finde?", "pt_BR", {"checkin": "2026-12-05", "checkout": "2026-12-07"}),
        ("fim de semana que vem", "pt_BR", {"checkin": "2026-12-12", "checkout": "2026-12-14"}),
        ("el próximo finde", "es", {"checkin": "2026-12-12", "checkout": "2026-12-14"}),
        ("de 20 a 23 de dezembro", "pt_BR", {"checkin": "2026-12-20", "checkout": "2026-12-23"}),
        ("del 20 al 23 de diciembre", "es", {"checkin": "2026-12-20", "checkout": "2026-12-23"}),
        ("dec 20-23", "en", {"checkin": "2026-12-20", "checkout": "2026-12-23"}),
        ("from dec 28 to jan 2", "en", {"checkin": "2026-12-28", "checkout": "2027-01-02"}),
        ("28/12 a 02/01", "pt_BR", {"checkin": "2026-12-28", "checkout": "2027-01-02"}),
        ("20/12", "pt_BR", {"checkin": "2026-12-20"}),
        ("20/12", "es", {"checkin": "2026-12-20"}),
        ("12/20 for 2 nights", "en", {"checkin": "2026-12-20", "nights": 2}),
        ("jan 5th", "en", {"checkin": "2027-01-05"}),
        ("5 de enero", "es", {"checkin": "2027-01-05"}),
        ("3 noites a partir do dia 5", "pt_BR", {"checkin": "2026-12-05", "nights": 3}),
        ("dia 1", "pt_BR", {"checkin": "2027-01-01"}),
        ("chego dia 10 às 14h", "pt_BR", {"checkin": "2026-12-10"}),
        ("5 de janeiro por uma semana", "pt_BR", {"checkin": "2027-01-05", "nights": 7}),
        ("daqui a 2 semanas", "pt_BR", {"checkin": "2026-12-16"}),
        ("in 3 days", "en", {"checkin": "2026-12-05"}),
        ("dentro de 1 mes", "es", {"checkin": "2027-01-02"}),
        ("pousada do mar 2 noites", "pt_BR", {"nights": 2}),
        ("dez noites em dezembro dia 20", "pt_BR", {"checkin": "2026-12-20", "nights": 10}),
        (
            "chego 5 de janeiro e saio dia 9",
            "pt_BR",
            {"checkin": "2027-01-05", "checkout": "2027-01-09"},
        ),
        (
            "arriving the 25th and leaving the 28th",
            "en",
            {"checkin": "2026-12-25", "checkout": "2026-12-28"},
        ),
        (
            "quarto pro natal",
            "pt_BR",
            {"occasion": "christmas", "checkin": "2026-12-24", "checkout": "2026-12-26"},
        ),
        (
            "price for NYE?",
            "en",
            {"occasion": "new_year", "checkin": "2026-12-30", "checkout": "2027-01-02"},
        ),
        (
            "habitación para año nuevo",
            "es",
            {"occasion": "new_year", "checkin": "2026-12-30", "checkout": "2027-01-02"},
        ),
        ("waterfall tour tmrw", "en", {"checkin": "2026-12-03"}),
        ("desconto pra mais de uma semana?", "pt_BR", {}),
        ("31/02", "pt_BR", {}),
        ("quero um quarto", "pt_BR", {}),
    ],
)
def test_stay_dates(text: str, locale: str, expected: dict[str, object]) -> None:
    assert stay_dates(text, locale, TODAY).as_entities() == expected


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("2 adultos e 1 criança", "pt_BR", {"adults": 2, "children": 1}),
        ("somos 4", "pt_BR", {"adults": 4}),
        ("somos 4, 2 adultos e 2 crianças", "pt_BR", {"adults": 2, "children": 2}),
        ("casal", "pt_BR", {"adults": 2}),
        ("eu e minha esposa", "pt_BR", {"adults": 2}),
        ("só eu", "pt_BR", {"adults": 1}),
        ("eu, minha esposa e nossos 2 filhos", "pt_BR", {"adults": 2, "children": 2}),
        ("para 3 pessoas", "pt_BR", {"adults": 3}),
        ("me + my 2 kids", "en", {"adults": 1, "children": 2}),
        ("a couple with 1 kid", "en", {"adults": 2, "children": 1}),
        ("just me", "en", {"adults": 1}),
        ("we are a family of 5", "en", {"adults": 5}),
        ("pareja", "es", {"adults": 2}),
        ("mi señora y yo", "es", {"adults": 2}),
        ("somos dos adultos y tres niños", "es", {"adults": 2, "children": 3}),
        ("viajo con mis 2 hijos", "es", {"adults": 1, "children": 2}),
        ("boat tour for 6 of us", "en", {"adults": 6}),
        ("3 ppl", "en", {"adults": 3}),
        ("2 couples", "en", {"adults": 4}),
        ("seremos um casal", "pt_BR", {"adults": 2}),
        ("quero 2 noites", "pt_BR", {}),
    ],
)
def test_guests(text: str, locale: str, expected: dict[str, int]) -> None:
    assert guests(text, locale).as_entities() == expected


def test_emails_and_booking_codes_are_normalised_in_any_intent() -> None:
    found = EntityExtractor().extract(
        "minha reserva é rsv-ab12cd, email Maria.Silva@Example.COM", "pt_BR", "my_bookings", TODAY
    )
    assert found == {"booking_code": "RSV-AB12CD", "email": "maria.silva@example.com"}


@pytest.mark.parametrize(
    ("today", "check_in"),
    [(date(2026, 12, 1), date(2028, 2, 29)), (date(2028, 2, 28), date(2028, 2, 29)),
     (date(2028, 3, 1), date(2032, 2, 29))],
)  # fmt: skip
def test_the_29th_of_february_is_the_next_leap_years(today: date, check_in: date) -> None:
    stay = stay_dates("de 29/2 a 2/3", "pt_BR", today)
    assert (stay.check_in, stay.check_out) == (check_in, date(check_in.year, 3, 2))
