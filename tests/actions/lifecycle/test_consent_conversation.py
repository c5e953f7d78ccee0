"""A guest stops the bot's own messages and starts them again, in pt-BR, en and es, by words or
buttons; an extra offered before the stay is noted on the reservation by its button."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from actions.booking.reservations import Reservations
from actions.lifecycle.consent import Consent, Consents
from actions.lifecycle.desk import GuestMessages
from bot import Address, Message
from bot.root.app import Runtime
from tests.support.chat import Chat
from tests.support.guests import Inbox, book, pousada_time
from tests.support.stays import off_season_stay, today

WORDING = {
    "pt-BR": {"stop": "parar", "stopped": "não enviaremos mais mensagens",
              "resume": "Voltar a receber", "again": "Mensagens reativadas",
              "start": "quero voltar a receber mensagens", "offers": "Sim, ofertas também",
              "offers_on": "nossas ofertas", "noted": "Anotado: Transfer da rodoviária",
              "stop_button": "Parar mensagens"},
    "en": {"stop": "stop", "stopped": "we will not send you messages",
           "resume": "Resume messages", "again": "Messages on again",
           "start": "resume messages", "offers": "Yes, offers too",
           "offers_on": "our offers", "noted": "Noted: Transfer from the Ubatuba bus station",
           "stop_button": "Stop messages"},
    "es": {"stop": "no más", "stopped": "ya no te enviaremos mensajes",
           "resume": "Volver a recibir", "again": "Mensajes reactivados",
           "start": "quiero volver a recibir mensajes", "offers": "Sí, ofertas también",
           "offers_on": "nuestras ofertas", "noted": "Anotado: Traslado desde la terminal",
           "stop_button": "No más mensajes"},
}  # fmt: skip


async def consent_of(runtime: Runtime, conversation: str) -> Consent:
    return await runtime.services.get(Consents).of(Address("web", conversation))


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_a_guest_stops_the_messages_and_starts_them_again(
    stay_runtime: Runtime, locale: str
) -> None:
    words = WORDING[locale]
    guest = Chat(stay_runtime, locale, f"consent-{locale}")
    assert words["stopped"] in await guest.says(words["stop"])
    assert await consent_of(stay_runtime, guest.conversation) == Consent(stopped=True)
    assert words["again"] in await guest.presses(words["resume"])
    assert await consent_of(stay_runtime, guest.conversation) == Consent()
    assert words["stopped"] in await guest.says(words["stop"])
    assert words["again"] in await guest.says(words["start"])
    assert guest.buttons() == [words["offers"]]
    assert words["offers_on"] in await guest.presses(words["offers"])
    assert await consent_of(stay_runtime, guest.conversation) == Consent(marketing=True)


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_the_stop_button_of_a_message_and_the_extra_it_offers(
    stay_runtime: Runtime, inbox: Inbox, frozen_time: time_machine.Coordinates, locale: str
) -> None:
    words = WORDING[locale]
    conversation = f"extra-{locale}"
    check_in, _ = off_season_stay(today(), nights=2, lead_days=10)
    reservation = await book(stay_runtime, conversation, locale, check_in)
    await stay_runtime.services.get(Consents).start(Address("web", conversation), marketing=True)
    await stay_runtime.services.get(GuestMessages).plan()
    frozen_time.move_to(pousada_time(check_in - timedelta(days=3), 10))
    await stay_runtime.services.get(GuestMessages).send_due()
    guest = Chat(stay_runtime, locale, conversation, tuple(inbox.replies[conversation]))
    assert words["noted"] in await guest.presses(words["noted"].split(": ")[1])
    history = await stay_runtime.services.get(Reservations).history(reservation.code)
    assert history[-1].note == "asked for transfer"
    guest.last = tuple(inbox.replies[conversation])
    assert words["stopped"] in await guest.presses(words["stop_button"])
    assert (await consent_of(stay_runtime, conversation)).stopped


@pytest.mark.parametrize(
    "payload",
    [
        "intent:add_extra|code=RSV-NOPE00|extra=transfer",
        "intent:add_extra|extra=transfer",
        "intent:add_extra|code=RSV-NOPE00|extra=spa",
    ],
)
async def test_a_forged_or_stale_extra_button_notes_nothing(
    stay_runtime: Runtime, payload: str
) -> None:
    check_in, _ = off_season_stay(today(), nights=2, lead_days=10)
    someone_else = await book(stay_runtime, "someone-else", "en", check_in)
    payload = payload.replace("RSV-NOPE00", someone_else.code)
    result = await stay_runtime.engine.handle(
        Message("web", "forger", "forger", payload=payload, locale_hint="en")
    )
    assert "not available for this reservation" in result.replies[0].text
    history = await stay_runtime.services.get(Reservations).history(someone_else.code)
    assert [event.note for event in history if event.note] == []
