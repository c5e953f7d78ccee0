"""Guests ask what is on, end to end against a local iCal server: the property's feeds
(recurrences expanded) and its own list, by period and category, with links, in three
languages; a feed that is down or malformed is left out and said, the rest still answers."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.root.app import Runtime
from tests.fakes.base import Fault
from tests.fakes.calendars import FakeCalendars
from tests.support.local_guide import ask


@pytest.fixture
def agenda(calendars: FakeCalendars) -> FakeCalendars:
    calendars.add(
        "city",
        "Roda de samba no Itaguá",
        datetime(2026, 12, 4, 20, 0),
        datetime(2026, 12, 4, 23, 0),
        url="https://agenda.example/samba",
        rrule={"freq": "weekly", "count": 6},
    )
    calendars.add("city", "Show de verão", date(2027, 1, 9), date(2027, 1, 10))
    calendars.add(
        "museum",
        "Exposição de tartarugas marinhas",
        date(2026, 12, 1),
        date(2027, 1, 1),
        url="https://museu.example/tartarugas",
    )
    return calendars


@pytest.mark.parametrize(
    ("question", "locale", "heading", "listed"),
    [
        (
            "o que tem pra fazer em Ubatuba em dezembro?",
            "pt-BR",
            "O que tem de",
            "Festival do Camarão de Ubatuba",
        ),
        ("any events in Ubatuba in december?", "en", "What's on from", "Ubatuba Shrimp Festival"),
        (
            "¿qué eventos hay en Ubatuba en diciembre?",
            "es",
            "Qué hay del",
            "Festival del Camarón de Ubatuba",
        ),
    ],
)
async def test_the_months_agenda_in_the_guests_language_with_links(
    guide: Runtime, agenda: FakeCalendars, question: str, locale: str, heading: str, listed: str
) -> None:
    reply = await ask(guide, question, locale=locale)
    assert heading in reply.text
    lines = [line for line in reply.text.splitlines() if line.startswith("•")]
    assert len(lines) == 7  # 4 Fridays of samba, the exhibition, the 2 listed events
    assert listed in reply.text
    assert "(https://agenda.example/samba)" in reply.text
    assert "(https://museu.example/tartarugas)" in reply.text
    assert "Show de verão" not in reply.text  # January
    assert "Roda de samba" in lines[1]  # after the exhibition that began on the 1st


async def test_a_category_filters_the_agenda(guide: Runtime, agenda: FakeCalendars) -> None:
    reply = await ask(guide, "tem show em Ubatuba em janeiro?")
    lines = [line for line in reply.text.splitlines() if line.startswith("•")]
    names = [line.split(": ", 1)[1].split(" (")[0] for line in lines]
    assert names == ["Roda de samba no Itaguá", "Roda de samba no Itaguá", "Show de verão"]


async def test_a_second_guest_gets_the_feeds_from_the_cache(
    guide: Runtime, agenda: FakeCalendars
) -> None:
    first = await ask(guide, "eventos em Ubatuba em dezembro", user="ana")
    second = await ask(guide, "eventos em Ubatuba em dezembro", user="bruno")
    assert first.text == second.text
    assert agenda.calls("GET", "/feeds/city.ics") == 1
    assert agenda.calls("GET", "/feeds/museum.ics") == 1


async def test_a_feed_down_or_malformed_is_left_out_and_said(
    guide: Runtime, agenda: FakeCalendars
) -> None:
    agenda.fail(*[Fault(500, path="/feeds/city.ics")] * 3)
    agenda.raw = [b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:not-a-date"]
    reply = await ask(guide, "eventos em Ubatuba em dezembro")
    assert "Festival do Camarão de Ubatuba" in reply.text
    assert "Roda de samba" not in reply.text
    assert "Exposição de tartarugas" not in reply.text
    assert "Parte da agenda local não pôde ser lida agora" in reply.text


async def test_no_events_in_the_period_brings_ideas(guide: Runtime, agenda: FakeCalendars) -> None:
    reply = await ask(guide, "o que tem pra fazer em Campos do Jordão em março?")
    assert "Não encontrei eventos" in reply.text
    assert "Pico do Itapeva" in reply.text
