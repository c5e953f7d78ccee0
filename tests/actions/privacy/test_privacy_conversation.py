"""A guest asks for their data and has it erased, in pt-BR, en and es: verified by a booking
code with its e-mail or by the chat itself, a readable summary with the JSON copy, an erasure
that keeps only what the law needs (and says why), and an audit entry for each request."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from actions.booking.holds import Holds
from actions.booking.reservations import Reservations
from actions.handoff.transcripts import Transcripts
from actions.lifecycle.consent import Consent, Consents
from actions.privacy.tables import PrivacyRequest
from bot import Address
from bot.root.app import Runtime
from bot.stores import keys
from tests.support.chat import Chat
from tests.support.guests import book, pousada_time
from tests.support.stays import off_season_stay, today

WORDING = {
    "pt-BR": {"mine": "meus dados", "erase": "apagar meus dados", "proof": "código da reserva",
              "wrong": "não correspondem", "copy": "Veja o que guardamos",
              "download": "Baixar meus dados", "chat": "Só este chat",
              "sure": "Não dá para desfazer",
              "yes": "Confirmar", "erased": "seus dados foram apagados",
              "books": "registros contábeis", "stay": "até o fim da estadia"},
    "en": {"mine": "my data", "erase": "delete my data", "proof": "booking code",
           "wrong": "do not match", "copy": "Here is what we keep",
           "download": "Download my data", "chat": "Only this chat", "sure": "cannot be undone",
           "yes": "Confirm", "erased": "your data was erased",
           "books": "accounting records", "stay": "until the stay ends"},
    "es": {"mine": "mis datos", "erase": "borrar mis datos", "proof": "código de la reserva",
           "wrong": "no coinciden", "copy": "Esto es lo que guardamos",
           "download": "Descargar mis datos", "chat": "Solo este chat",
           "sure": "No se puede deshacer",
           "yes": "Confirmar", "erased": "tus datos se borraron",
           "books": "registros contables", "stay": "hasta que termine la estadía"},
}  # fmt: skip


async def audit(runtime: Runtime) -> list[PrivacyRequest]:
    async with runtime.database.session() as session:
        return list(await session.scalars(select(PrivacyRequest).order_by(PrivacyRequest.id)))


async def published_json(runtime: Runtime, url: str) -> dict[str, object]:
    media = await runtime.media.store.get(url.rsplit("/", 1)[1])
    assert media is not None
    assert media.content_type == "application/json"
    return json.loads(media.data)  # type: ignore[no-any-return]


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_my_data_after_the_booking_code_and_e_mail(
    stay_runtime: Runtime, locale: str
) -> None:
    words = WORDING[locale]
    check_in, _ = off_season_stay(today(), nights=2, lead_days=10)
    other_chat = await book(stay_runtime, "elsewhere", locale, check_in, email="ana@example.com")
    guest = Chat(stay_runtime, locale, f"mine-{locale}")
    assert words["proof"] in await guest.says(words["mine"])
    assert words["wrong"] in await guest.says(f"{other_chat.code} someone@example.com")
    assert await audit(stay_runtime) == []
    summary = await guest.says(f"{other_chat.code} ana@example.com")
    assert words["copy"] in summary
    assert other_chat.code in summary
    assert "ana@example.com" in summary
    copy = await published_json(stay_runtime, guest.link(words["download"]))
    [reservation] = copy["reservations"]  # type: ignore[misc]
    assert reservation["email"] == "ana@example.com"
    assert [event["state"] for event in reservation["history"]] == ["held", "confirmed"]
    assert copy["verified_by"] == "booking"
    history = copy["conversation"]["session"]["history"]  # type: ignore[index]
    assert any(turn["text"] == words["mine"] for turn in history)
    transcript = copy["conversation"]["transcript"]  # type: ignore[index]
    assert {"role": "guest", "text": words["mine"]}.items() <= transcript[0].items()
    [request] = await audit(stay_runtime)
    assert (request.kind, request.verified_by) == ("export", "booking")
    assert guest.conversation not in json.dumps(request.report) + request.subject


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_only_this_chat_shows_no_other_chat_s_booking(
    stay_runtime: Runtime, locale: str
) -> None:
    words = WORDING[locale]
    check_in, _ = off_season_stay(today(), nights=2, lead_days=10)
    await book(stay_runtime, "elsewhere", locale, check_in, email="ana@example.com")
    guest = Chat(stay_runtime, locale, f"chat-only-{locale}")
    await guest.says(words["mine"])
    await guest.presses(words["chat"])
    copy = await published_json(stay_runtime, guest.link(words["download"]))
    assert copy["reservations"] == []
    assert copy["verified_by"] == "channel"


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_delete_my_data_erases_what_the_law_lets_go_and_says_what_it_keeps(
    stay_runtime: Runtime, frozen_time: time_machine.Coordinates, locale: str
) -> None:
    words = WORDING[locale]
    conversation = f"erase-{locale}"
    past_stay, _ = off_season_stay(today(), nights=2, lead_days=5)
    next_stay, _ = off_season_stay(past_stay, nights=2, lead_days=30)
    stayed = await book(stay_runtime, conversation, locale, past_stay)
    upcoming = await book(stay_runtime, conversation, locale, next_stay)
    abandoned = await book(stay_runtime, conversation, locale, next_stay, paid=False)
    frozen_time.move_to(pousada_time(past_stay + timedelta(days=4), 12))
    await stay_runtime.services.get(Holds).expire_holds()
    await stay_runtime.services.get(Consents).stop(Address("web", conversation))
    guest = Chat(stay_runtime, locale, conversation)
    await guest.says(words["erase"])
    assert words["sure"] in await guest.presses(words["chat"])
    erased = await guest.presses(words["yes"])
    assert words["erased"] in erased
    assert f"{stayed.code}: " in erased
    assert words["books"] in erased
    assert f"{upcoming.code}: " in erased
    assert words["stay"] in erased
    assert abandoned.code not in erased

    reservations = stay_runtime.services.get(Reservations)
    gone = await reservations.by_code(abandoned.code)
    assert (gone.guest_name, gone.email) == ("erased", f"erased-{gone.id}@invalid")
    for kept in (stayed.code, upcoming.code):
        reservation = await reservations.by_code(kept)
        assert (reservation.guest_name, reservation.email) == ("Rita Alves", "rita@example.com")
        assert reservation.conversation_id == f"erased:{reservation.id}"
    assert await reservations.reservations_for("web", conversation) == []
    assert await stay_runtime.services.get(Consents).of(Address("web", conversation)) == Consent()
    # Nothing of the session is left, not even its language or the confirmation just sent.
    assert await stay_runtime.stores.sessions.get(keys.session(f"web:{conversation}")) is None
    assert await stay_runtime.services.get(Transcripts).find("web", conversation) is None
    [request] = await audit(stay_runtime)
    assert (request.kind, request.verified_by) == ("erase", "channel")
    assert request.report["erased"]["reservations"] == 1
    # asked, was asked how to verify, chose, was asked to confirm, confirmed (this very turn)
    assert request.report["erased"]["transcript_lines"] == 5
    assert sorted(item["reason"] for item in request.report["kept"]) == ["accounting", "contract"]
