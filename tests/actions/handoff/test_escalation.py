"""A person offered at once to a frustrated guest, or after two misunderstandings in a row; the
offer opens an urgent handoff; the guests' mood is a metric. In pt-BR, en and es."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from actions.handoff.store import HandoffStore
from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import Settings
from tests.support.chat import Chat

ANGRY = {
    "pt-BR": "que absurdo, vocês não entendem nada!!",
    "en": "this is ridiculous, useless bot!!",
    "es": "qué absurdo, no entiendes nada!!",
}
OFF_TOPIC = {
    "pt-BR": ("quem ganhou a copa de 2002?", "qual a capital da frança?"),
    "en": ("who won the 2002 world cup?", "what is the capital of france?"),
    "es": ("¿quién ganó el mundial de 2002?", "¿cuál es la capital de francia?"),
}
OFFER = {
    "pt-BR": ("Quer falar agora com uma pessoa", "Falar com uma pessoa agora",
              "Pronto: pedi para a nossa equipe"),
    "en": ("Would you like to talk to a person", "Talk to a person now", "Done: I asked our team"),
    "es": ("¿Quieres hablar ahora con una persona", "Hablar con una persona ahora",
           "Listo: le pedí a nuestro equipo"),
}  # fmt: skip


@pytest.fixture
async def runtime(make_settings: Callable[..., Settings]) -> AsyncIterator[Runtime]:
    async with runtime_lifespan(build_runtime(make_settings()), upkeep=False) as running:
        yield running


async def _urgent(runtime: Runtime, guest: Chat) -> bool:
    handoff = await HandoffStore(runtime.stores.handoffs).of_guest(f"web:{guest.conversation}")
    assert handoff is not None, "no handoff was opened"
    return handoff.urgent


def _sample(runtime: Runtime, name: str, **labels: str) -> float:
    return runtime.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_a_frustrated_guest_is_offered_a_person_at_once_and_the_handoff_is_urgent(
    runtime: Runtime, locale: str
) -> None:
    guest = Chat(runtime, locale)
    offer, button, requested = OFFER[locale]
    assert offer in await guest.says(ANGRY[locale])
    assert button in guest.buttons()
    assert _sample(runtime, "rsv_frustrated_conversations_total") == 1
    assert _sample(runtime, "rsv_person_offers_total", reason="frustrated") == 1
    assert requested in await guest.presses(button)
    assert await _urgent(runtime, guest)


@pytest.mark.parametrize("locale", ["pt-BR", "en", "es"])
async def test_two_misunderstandings_in_a_row_offer_a_person(runtime: Runtime, locale: str) -> None:
    guest = Chat(runtime, locale)
    first, second = OFF_TOPIC[locale]
    offer = OFFER[locale][0]
    assert offer not in await guest.says(first)
    assert offer in await guest.says(second)
    assert _sample(runtime, "rsv_person_offers_total", reason="misunderstood") == 1
    assert _sample(runtime, "rsv_frustrated_conversations_total") == 0


async def test_an_understood_message_in_between_starts_the_count_again(runtime: Runtime) -> None:
    guest = Chat(runtime, "pt-BR")
    first, second = OFF_TOPIC["pt-BR"]
    await guest.says(first)
    await guest.says("qual o horário do check-in?")
    assert OFFER["pt-BR"][0] not in await guest.says(second)


async def test_a_person_asked_for_plainly_is_not_urgent(runtime: Runtime) -> None:
    guest = Chat(runtime, "pt-BR")
    await guest.says("quero falar com um atendente")
    assert not await _urgent(runtime, guest)


async def test_a_frustrated_guest_in_the_middle_of_a_booking_gets_the_offer_and_the_form_resumes(
    runtime: Runtime,
) -> None:
    guest = Chat(runtime, "pt-BR")
    await guest.says("quero reservar na pousada do mar")
    reply = await guest.says(ANGRY["pt-BR"])
    assert OFFER["pt-BR"][0] in reply
    assert "Voltando à sua reserva" in reply
