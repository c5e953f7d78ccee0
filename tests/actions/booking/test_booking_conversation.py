"""The booking journey driven turn by turn through the engine, in pt-BR, en and es."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from actions.booking.holds import Guest, Holds
from actions.booking.quotes import Quotes
from actions.booking.reservations import Reservations
from actions.booking.tables import Inventory, Reservation
from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import Settings
from tests.support.chat import Chat
from tests.support.clock import REFERENCE_DAY
from tests.support.stays import minimum_stay, off_season_stay, spoken, today

CODE = re.compile(r"RSV-[A-Z0-9]{6}")


STAY = off_season_stay(REFERENCE_DAY, nights=3)
"""Three off-season nights: no minimum stay, inside the year of inventory."""
CHECKIN = STAY[0]
LATER = off_season_stay(STAY[1], nights=2, lead_days=7)
"""Two other off-season nights, for a guest who changes the dates."""
DATES = {locale: spoken(STAY, locale) for locale in ("pt-BR", "en", "es")}


@pytest.fixture
async def runtime(make_settings: Callable[..., Settings]) -> AsyncIterator[Runtime]:
    async with runtime_lifespan(build_runtime(make_settings()), upkeep=False) as running:
        yield running


WORDING = {
    "pt-BR": {"want": "quero reservar um quarto", "place": "Pousada do Mar", "party": "2 adultos",
              "room": "Quarto Standard", "name": "Maria Souza", "yes": "Confirmar",
              "held": "está guardada para você", "pay": "Pagar agora", "link": "Aqui está o link"},
    "en": {"want": "I'd like to book a room", "place": "Pousada do Mar", "party": "2 adults",
           "room": "Standard Room", "name": "John Smith", "yes": "Confirm",
           "held": "is held for you", "pay": "Pay now", "link": "Here is the payment link"},
    "es": {"want": "quiero reservar una habitación", "place": "Pousada do Mar",
           "party": "2 adultos", "room": "Habitación Estándar", "name": "Lucía Pérez",
           "yes": "Confirmar", "held": "queda apartada para ti", "pay": "Pagar ahora",
           "link": "Aquí está el enlace de pago"},
}  # fmt: skip


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_the_happy_path_from_wish_to_payment_link(runtime: Runtime, locale: str) -> None:
    words = WORDING[locale]
    guest = Chat(runtime, locale)
    await guest.says(words["want"])
    assert any(title.startswith("Pousada do Mar") for title in guest.buttons())
    await guest.presses(words["place"])
    await guest.says(DATES[locale])
    offers = await guest.presses(words["party"])
    assert "R$" in offers or "BRL" in offers
    assert any(title.startswith(words["room"]) for title in guest.buttons())
    await guest.presses(words["room"])
    await guest.says(words["name"])
    summary = await guest.says("guest@example.com")
    assert words["name"] in summary
    assert "guest@example.com" in summary
    held = await guest.presses(words["yes"])
    assert words["held"] in held
    code = CODE.search(held)
    assert code is not None
    reservation = await runtime.services.get(Reservations).by_code(code.group(0))
    assert (reservation.state, reservation.check_in, reservation.adults) == ("held", CHECKIN, 2)
    assert (reservation.check_out - reservation.check_in).days == 3
    link = await guest.presses(words["pay"])
    assert words["link"] in link
    assert "/checkout/sandbox/" in guest.link()
    assert (
        await runtime.services.get(Reservations).by_code(code.group(0))
    ).state == "pending_payment"


async def test_everything_in_one_message_goes_straight_to_the_offers(runtime: Runtime) -> None:
    guest = Chat(runtime, "pt-BR")
    offers = await guest.says(f"quero reservar na pousada do mar {DATES['pt-BR']}, somos um casal")
    assert offers.startswith("Disponível na Pousada do Mar")
    assert "3 noites" in offers


async def test_a_correction_changes_the_dates_and_shows_new_offers(runtime: Runtime) -> None:
    guest = Chat(runtime, "pt-BR")
    await guest.says(f"quero reservar na pousada do mar {DATES['pt-BR']}, somos um casal")
    await guest.presses("Quarto Standard")
    corrected = await guest.says("na verdade dia 11")
    assert "11 de mar." in corrected  # new offers from the 11th, same three nights
    assert "14 de mar." in corrected


async def test_a_question_in_the_middle_is_answered_and_the_booking_resumes(
    runtime: Runtime,
) -> None:
    guest = Chat(runtime, "pt-BR")
    await guest.says("quero reservar na pousada do mar")
    await guest.says(DATES["pt-BR"])
    answer = await guest.says("vcs aceitam cachorro?")
    assert "Aceitamos pets" in answer
    assert "Voltando à sua reserva" in answer
    offers = await guest.presses("2 adultos")
    assert offers.startswith("Disponível")


async def test_abandoning_the_form(runtime: Runtime) -> None:
    guest = Chat(runtime, "es")
    await guest.says("quiero reservar en la pousada do mar")
    cancelled = await guest.says("cancelar")
    assert cancelled.startswith("De acuerdo, lo cancelé")
    assert (await guest.says("hola")).startswith("¡Hola")


async def test_full_dates_get_the_nearest_alternatives(runtime: Runtime) -> None:
    async with runtime.database.session() as session:
        await session.execute(
            update(Inventory)
            .where(Inventory.day >= CHECKIN, Inventory.day < CHECKIN + timedelta(days=3))
            .values(taken=Inventory.total)
        )
    guest = Chat(runtime, "en")
    full = await guest.says(f"book pousada do mar {DATES['en']} for 2 adults")
    assert full.startswith("Sorry, Pousada do Mar is full")
    alternatives = [title for title in guest.buttons() if re.search(r"\(3 nights\) · R\$", title)]
    assert alternatives
    offers = await guest.presses(alternatives[0])
    assert offers.startswith("Available at Pousada do Mar")


async def test_an_invalid_email_is_asked_again(runtime: Runtime) -> None:
    guest = Chat(runtime, "en")
    await guest.says(f"book pousada do mar {DATES['en']} for 2 adults")
    await guest.presses("Standard Room")
    await guest.says("Ann Lee")
    retry = await guest.says("ann at example dot com")
    assert retry.startswith("That e-mail does not look right")
    assert "Please check your booking" in await guest.says("ann@example.com")


async def _held_reservation(runtime: Runtime, guest: Chat, check_in: date, nights: int = 2) -> str:
    place = await runtime.services.get(Quotes).property_by_slug("pousada-do-mar")
    assert place is not None
    offers = await runtime.services.get(Quotes).offers(
        place.id, check_in, check_in + timedelta(days=nights), 2, 0
    )
    reservation = await runtime.services.get(Holds).hold(
        offers[0].product.id,
        check_in,
        check_in + timedelta(days=nights),
        2,
        0,
        Guest("Rita", "rita@example.com"),
        "web",
        guest.conversation,
        "pt_BR",
        "test",
    )
    return reservation.code


async def test_paying_an_expired_hold_is_refused_clearly(runtime: Runtime) -> None:
    guest = Chat(runtime, "pt-BR")
    code = await _held_reservation(runtime, guest, CHECKIN)
    async with runtime.database.session() as session:
        await session.execute(
            update(Reservation)
            .where(Reservation.code == code)
            .values(hold_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    refused = await guest.says("quero pagar")
    assert f"A reserva {code} expirou" in refused
    assert (await runtime.services.get(Reservations).by_code(code)).state == "expired"


async def test_the_hold_expiring_during_payment_releases_the_rooms(runtime: Runtime) -> None:
    guest = Chat(runtime, "pt-BR")
    code = await _held_reservation(runtime, guest, CHECKIN)
    await guest.says("quero pagar")
    async with runtime.database.session() as session:
        await session.execute(
            update(Reservation)
            .where(Reservation.code == code)
            .values(hold_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    expired = await runtime.services.get(Holds).expire_holds()
    assert [reservation.code for reservation in expired] == [code]
    events = await runtime.services.get(Reservations).history(code)
    assert [(e.to_state, e.actor) for e in events][-1] == ("expired", "system:hold-expiry")


async def test_cancelling_inside_the_free_window_refunds_everything(runtime: Runtime) -> None:
    guest = Chat(runtime, "pt-BR")
    code = await _held_reservation(runtime, guest, CHECKIN)
    reservation, _ = await runtime.services.get(Reservations).confirm_payment(code, "test")
    terms = await guest.says("quero cancelar minha reserva")
    assert "100% do valor pago" in terms
    done = await guest.presses("Sim, cancelar")
    assert f"A reserva {code} foi cancelada" in done
    cancelled = await runtime.services.get(Reservations).by_code(code)
    assert (cancelled.state, cancelled.refund_due) == ("cancelled", reservation.total)


async def test_cancelling_the_day_before_refunds_nothing(runtime: Runtime) -> None:
    guest = Chat(runtime, "en")
    tomorrow = today() + timedelta(days=1)
    code = await _held_reservation(runtime, guest, tomorrow, minimum_stay(tomorrow, today()))
    await runtime.services.get(Reservations).confirm_payment(code, "test")
    terms = await guest.says(f"please cancel {code}")
    assert "you get back R$0.00 (0% of the amount paid)" in terms
    await guest.presses("Yes, cancel it")
    assert (await runtime.services.get(Reservations).by_code(code)).refund_due == 0


async def test_my_bookings_never_shows_another_guests_reservation(runtime: Runtime) -> None:
    owner = Chat(runtime, "pt-BR", conversation="owner")
    code = await _held_reservation(runtime, owner, CHECKIN)
    listing = await owner.says("minhas reservas")
    assert code in listing
    stranger = Chat(runtime, "pt-BR", conversation="stranger")
    hidden = await stranger.says(f"status da reserva {code}")
    assert hidden.startswith(f"Para mostrar a {code}, envie o código junto com o e-mail")
    assert "Pousada do Mar" not in hidden
    wrong = await stranger.says(f"reserva {code} email outro@example.com")
    assert wrong.startswith("Não encontrei nenhuma reserva com esse código e e-mail")
    right = await stranger.says(f"minha reserva {code}, email RITA@example.com")
    assert right.startswith(code)


CHANGE = {"pt-BR": "Mudar as datas", "en": "Change dates", "es": "Cambiar las fechas"}
ASK_DATES = {
    "pt-BR": "Quais são as datas de check-in e check-out?",
    "en": "What are your check-in and check-out dates?",
    "es": "¿Cuáles son las fechas de check-in y check-out?",
}
PLACE_AND_PARTY = {
    "pt-BR": "quero reservar na pousada do mar {dates}, somos um casal",
    "en": "I want to book pousada do mar {dates}, a couple",
    "es": "quiero reservar en la pousada do mar {dates}, somos una pareja",
}


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_change_dates_from_the_offers(runtime: Runtime, locale: str) -> None:
    guest = Chat(runtime, locale)
    await guest.says(PLACE_AND_PARTY[locale].format(dates=DATES[locale]))
    assert CHANGE[locale] in guest.buttons()
    assert (await guest.presses(CHANGE[locale])).startswith(ASK_DATES[locale])
    offers = await guest.says(spoken(LATER, locale))
    assert str(LATER[0].day) in offers
    assert str(LATER[1].day) in offers
    assert any(WORDING[locale]["room"] in title for title in guest.buttons())


QUESTION = {
    "pt-BR": ("tem estacionamento?", "Temos estacionamento gratuito"),
    "en": ("is there parking?", "Free covered parking"),
    "es": ("tienen estacionamiento?", "Tenemos estacionamiento gratuito"),
}
RESUME = {
    "pt-BR": "Voltando à sua reserva",
    "en": "Back to your booking",
    "es": "Volviendo a tu reserva",
}


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_interruptions_and_corrections_in_every_language(
    runtime: Runtime, locale: str
) -> None:
    guest = Chat(runtime, locale)
    await guest.says(PLACE_AND_PARTY[locale].format(dates=DATES[locale]))
    await guest.presses(WORDING[locale]["room"])
    question, answer = QUESTION[locale]
    interrupted = await guest.says(question)
    assert answer in interrupted
    assert RESUME[locale] in interrupted
    await guest.says(WORDING[locale]["name"])
    await guest.says("guest@example.com")
    # new dates at the summary: the room must be chosen again, among the new offers
    offers = await guest.says(spoken(LATER, locale))
    assert str(LATER[0].day) in offers
    assert str(LATER[1].day) in offers
    assert any(WORDING[locale]["room"] in title for title in guest.buttons())
