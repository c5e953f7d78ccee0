"""Holidays as dates and the stays offered instead of a refusal, in pt-BR, en and es.

Dates are built from the rules (réveillon is 30/12 to 2/1; the demo's seasons say the minimum
stay), counted from the frozen today."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta

import pytest
from babel.dates import format_skeleton
from sqlalchemy import update

from actions.booking.tables import Inventory
from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import Settings
from tests.support.chat import Chat
from tests.support.clock import REFERENCE_DAY
from tests.support.stays import minimum_stay, new_year_stay, off_season_stay, spoken, today

PRICE = re.compile(r"R\$|BRL")
BABEL = {"pt-BR": "pt_BR", "en": "en", "es": "es"}
NEW_YEAR = {
    "pt-BR": ("tem vaga pro réveillon na pousada do mar? somos um casal", "Réveillon"),
    "en": ("any room at pousada do mar for new year's eve? we are a couple", "New Year's Eve"),
    "es": ("hay lugar en la pousada do mar para año nuevo? somos una pareja", "Año Nuevo"),
}
NIGHTS = {"pt-BR": "noites", "en": "nights", "es": "noches"}
MINIMUM = {
    "pt-BR": "a estadia mínima é de {n} noites",
    "en": "the minimum stay is {n} nights",
    "es": "la estadía mínima es de {n} noches",
}
OFFERS = {"pt-BR": "Disponível na Pousada do Mar", "en": "Available at Pousada do Mar",
          "es": "Disponible en Pousada do Mar"}  # fmt: skip
LONGER = {
    "pt-BR": "{n} noites no réveillon na pousada do mar, somos um casal",
    "en": "{n} nights at pousada do mar for new year's eve, a couple",
    "es": "{n} noches en la pousada do mar para año nuevo, somos una pareja",
}
FULL = {"pt-BR": "Desculpe, a Pousada do Mar está lotada", "en": "Sorry, Pousada do Mar is full",
        "es": "Lo siento, Pousada do Mar está completa"}  # fmt: skip
CORRECTION = {"pt-BR": "na verdade de {a} a {b}", "en": "actually from {a} to {b}",
              "es": "en realidad del {a} al {b}"}  # fmt: skip


@pytest.fixture
async def runtime(make_settings: Callable[..., Settings]) -> AsyncIterator[Runtime]:
    async with runtime_lifespan(build_runtime(make_settings()), upkeep=False) as running:
        yield running


def short(day: date, locale: str) -> str:
    return format_skeleton("dM", day, locale=BABEL[locale])


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_new_years_eve_is_its_usual_stay_and_a_longer_one_is_offered_with_its_price(
    runtime: Runtime, locale: str
) -> None:
    check_in, check_out = new_year_stay(today())
    required = minimum_stay(check_in, today())
    assert (check_out - check_in).days < required, "the demo's réveillon asks for a longer stay"
    guest = Chat(runtime, locale)
    text, name = NEW_YEAR[locale]
    reply = await guest.says(text)
    assert f"{name}: {short(check_in, locale)}" in reply
    assert short(check_out, locale) in reply
    assert MINIMUM[locale].format(n=required) in reply
    longer = f"{short(check_in, locale)}"
    offered = [title for title in guest.buttons() if re.search(r"\d", title)]
    assert offered, guest.buttons()
    first = offered[0]
    assert first.startswith(longer)
    assert short(check_in + timedelta(days=required), locale) in first
    assert f"({required} {NIGHTS[locale]})" in first
    assert PRICE.search(first)
    offers = await guest.presses(first)
    assert offers.startswith(OFFERS[locale])
    assert f"{required} {NIGHTS[locale]}" in offers


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_the_guest_corrects_the_proposed_stay(runtime: Runtime, locale: str) -> None:
    check_in, _ = new_year_stay(today())
    required = minimum_stay(check_in, today())
    guest = Chat(runtime, locale)
    await guest.says(NEW_YEAR[locale][0])
    start, end = check_in - timedelta(days=1), check_in - timedelta(days=1 - required)
    spoken = {day: short(day, locale) for day in (start, end)}
    offers = await guest.says(CORRECTION[locale].format(a=spoken[start], b=spoken[end]))
    assert offers.startswith(OFFERS[locale])
    assert NEW_YEAR[locale][1] + ":" not in offers  # the guest's own dates now


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_full_dates_offer_the_nearest_free_stays_with_their_prices(
    runtime: Runtime, locale: str
) -> None:
    # Given a length, the stay starts on the holiday itself: New Year's Eve.
    check_in = date(new_year_stay(today())[1].year - 1, 12, 31)
    check_out = check_in + timedelta(days=minimum_stay(check_in, today()))
    async with runtime.database.session() as session:
        await session.execute(
            update(Inventory)
            .where(Inventory.day >= check_in, Inventory.day < check_in + timedelta(days=1))
            .values(taken=Inventory.total)
        )
    guest = Chat(runtime, locale)
    nights = (check_out - check_in).days
    full = await guest.says(LONGER[locale].format(n=nights))
    assert FULL[locale] in full
    offered = [title for title in guest.buttons() if PRICE.search(title)]
    assert offered
    # every stay offered leaves out the full night and is as long as the season asks
    for title in offered:
        assert f"({nights} {NIGHTS[locale]})" in title
        assert not title.startswith(short(check_in, locale) + " ")


STAY = off_season_stay(REFERENCE_DAY, nights=3)
PLACE_AND_PARTY = {
    "pt-BR": "quero reservar na pousada do mar {dates}, somos um casal",
    "en": "I want to book pousada do mar {dates}, a couple",
    "es": "quiero reservar en la pousada do mar {dates}, somos una pareja",
}
ROOM = {"pt-BR": "Quarto Standard", "en": "Standard Room", "es": "Habitación Estándar"}
NAME = {"pt-BR": "Maria Souza", "en": "John Smith", "es": "Lucía Pérez"}
NOT_A_NAME = {
    "pt-BR": ("sim, pode reservar", "Isso parece uma resposta, não um nome"),
    "en": ("yes, go ahead and book it", "That sounds like an answer rather than a name"),
    "es": ("sí, puedes reservar", "Eso parece una respuesta, no un nombre"),
}
QUESTION_AS_NAME = {"pt-BR": "é pra por o nome de quem?", "en": "whose name do you need?",
                    "es": "¿el nombre de quién?"}  # fmt: skip
SUGGESTION = {"pt-BR": "Sim, ", "en": "Yes, ", "es": "Sí, "}
KEEP = {"pt-BR": "Manter ", "en": "Keep ", "es": "Mantener "}
TWO_QUESTIONS = {
    "pt-BR": ("quanto custa o café da manhã? aceita cachorro?",
              ["O café da manhã caiçara", "Aceitamos pets", "Voltando à sua reserva"]),
    "en": ("is breakfast included? do you accept dogs?",
           ["The caiçara breakfast", "We welcome small and medium pets", "Back to your booking"]),
    "es": ("¿el desayuno está incluido? ¿aceptan perros?",
           ["El desayuno caiçara", "Aceptamos mascotas", "Volviendo a tu reserva"]),
}  # fmt: skip


async def _at_the_name(runtime: Runtime, locale: str) -> Chat:
    guest = Chat(runtime, locale)
    await guest.says(PLACE_AND_PARTY[locale].format(dates=spoken(STAY, locale)))
    await guest.presses(ROOM[locale])
    return guest


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_an_answer_or_a_question_is_not_taken_as_the_name(
    runtime: Runtime, locale: str
) -> None:
    guest = await _at_the_name(runtime, locale)
    affirmation, refusal = NOT_A_NAME[locale]
    assert refusal in await guest.says(affirmation)
    assert refusal in await guest.says(QUESTION_AS_NAME[locale])
    # an e-mail is taken as the e-mail, and the name is asked again
    asked_again = await guest.says("maria@example.com")
    assert "maria@example.com" not in asked_again
    summary = await guest.says(NAME[locale])
    assert NAME[locale] in summary
    assert "maria@example.com" in summary
    assert affirmation not in summary


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_an_email_with_a_typo_in_a_common_domain_is_confirmed_with_a_button(
    runtime: Runtime, locale: str
) -> None:
    guest = await _at_the_name(runtime, locale)
    await guest.says(NAME[locale])
    asked = await guest.says("Maria.Souza@gmial.com")
    assert "maria.souza@gmail.com" in asked
    assert f"{SUGGESTION[locale]}maria.souza@gmail.com" in guest.buttons()
    assert f"{KEEP[locale]}maria.souza@gmial.com" in guest.buttons()
    summary = await guest.presses(f"{SUGGESTION[locale]}maria.souza@gmail.com")
    assert "maria.souza@gmail.com" in summary
    assert NAME[locale] in summary


async def test_the_guest_may_keep_an_address_that_only_looks_like_a_typo(
    runtime: Runtime,
) -> None:
    guest = await _at_the_name(runtime, "pt-BR")
    await guest.says(NAME["pt-BR"])
    await guest.says("ana@hotmal.com")
    summary = await guest.presses("Manter ana@hotmal.com")
    assert "ana@hotmal.com" in summary


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_two_questions_in_the_middle_of_the_form_are_answered_and_it_resumes(
    runtime: Runtime, locale: str
) -> None:
    guest = await _at_the_name(runtime, locale)
    question, answers = TWO_QUESTIONS[locale]
    reply = await guest.says(question)
    positions = [reply.index(answer) for answer in answers]
    assert positions == sorted(positions)  # each answer in the order asked, then the form
    await guest.says(NAME[locale])
    assert NAME[locale] in await guest.says("guest@example.com")  # the form went on
