"""The trained understanding step: intents, language detection, entities and button payloads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.buttons import parse_payload
from intents.classifier import NluModel
from intents.entities import EntityExtractor
from intents.serving import Reading
from intents.understanding import REMEMBERED_LENGTH, ModelUnderstanding
from tests.support.clock import REFERENCE_DAY


@pytest.mark.parametrize(
    ("text", "given", "intent", "locale"),
    [
        ("Oi, bom dia!", "pt_BR", "greet", "pt_BR"),
        ("vcs tem vaga pro finde? somos um casal", "en", "book", "pt_BR"),
        ("hey, do you guys have a room for this weekend?", "pt_BR", "book", "en"),
        ("hola! tienen lugar para el finde largo?", "pt_BR", "book", "es"),
        ("aceita pix?", "pt_BR", "pay", "pt_BR"),
        ("quero falar com um atendente", "pt_BR", "human", "pt_BR"),
        ("what's the wifi password", "en", "faq", "en"),
        ("previsão de ocupação de dezembro na Pousada do Mar", "pt_BR", "forecast", "pt_BR"),
        ("asdkjhasd qwpeoiqwe", "en", "out_of_scope", "en"),
    ],
)
async def test_intents_and_locales(
    understanding: ModelUnderstanding, text: str, given: str, intent: str, locale: str
) -> None:
    parse = await understanding.parse(text, given)
    assert (parse.intent, parse.locale) == (intent, locale)
    assert 0.0 <= parse.confidence <= 1.0


async def test_a_short_message_keeps_the_conversations_locale(
    understanding: ModelUnderstanding,
) -> None:
    assert (await understanding.parse("ok", "es")).locale == "es"
    assert (await understanding.parse("ok", "en")).locale == "en"


async def test_stay_entities_come_with_a_booking_request(understanding: ModelUnderstanding) -> None:
    parse = await understanding.parse(
        "quero reservar de 20 a 23 de dezembro pra 2 adultos e 1 criança, meu email é ANA@X.COM",
        "pt_BR",
    )
    assert parse.intent == "book"
    assert parse.entities == {
        "checkin": "2026-12-20",
        "checkout": "2026-12-23",
        "adults": 2,
        "children": 1,
        "email": "ana@x.com",
    }


async def test_dates_are_not_tagged_outside_a_new_stay_request(
    understanding: ModelUnderstanding,
) -> None:
    parse = await understanding.parse(
        "minha reserva rsv-ab12cd do dia 20/12 tá confirmada?", "pt_BR"
    )
    assert parse.intent == "my_bookings"
    assert parse.entities == {"booking_code": "RSV-AB12CD"}


@pytest.mark.parametrize(
    ("text", "locale", "control"),
    [("cancelar", "pt_BR", "cancel"), ("start over", "en", "restart"), ("salir", "es", "cancel")],
)
async def test_form_controls_are_entities(
    understanding: ModelUnderstanding, text: str, locale: str, control: str
) -> None:
    assert (await understanding.parse(text, locale)).entities["control"] == control


async def test_a_long_message_mentioning_cancel_is_no_control(
    understanding: ModelUnderstanding,
) -> None:
    parse = await understanding.parse("what happens to my deposit if I cancel next week", "en")
    assert "control" not in parse.entities


@pytest.mark.parametrize(
    ("payload", "intent", "entities"),
    [
        ("intent:help", "help", {}),
        ("intent:faq|topic=wifi", "faq", {"topic": "wifi"}),
        ("intent:book|property=pousada-do-mar|adults=2", "book",
         {"property": "pousada-do-mar", "adults": "2"}),
        ("intent:faq|topic=<script>", "unknown_button", {}),
        ("intent:faq|a=1|b=2|c=3|d=4|e=5", "unknown_button", {}),
        ("form:yes", "button", {}),
        ("nonsense", "unknown_button", {}),
    ],
)  # fmt: skip
def test_button_payloads(payload: str, intent: str, entities: dict[str, str]) -> None:
    parse = parse_payload(payload, "es")
    assert (parse.intent, dict(parse.entities), parse.confidence, parse.locale) == (
        intent,
        entities,
        1.0,
        "es",
    )


@pytest.mark.parametrize(
    ("accented", "plain", "locale", "intent"),
    [
        (
            "¿Cuál es el costo de una habitación?",
            "¿cual es el costo de una habitacion?",
            "es",
            "book",
        ),
        ("¿Qué servicios ofrecen?", "¿que servicios ofrecen?", "es", "faq"),
        ("quanto sai a diária?", "quanto sai a diaria?", "pt_BR", "book"),
        ("vocês têm estacionamento?", "voces tem estacionamento?", "pt_BR", "faq"),
    ],
)
async def test_messages_without_accents_read_as_with_them(
    understanding: ModelUnderstanding, accented: str, plain: str, locale: str, intent: str
) -> None:
    with_accents = await understanding.parse(accented, locale)
    without = await understanding.parse(plain, locale)
    assert (with_accents.intent, without.intent) == (intent, intent)
    assert without.confidence == with_accents.confidence  # accents are folded away


@pytest.mark.parametrize(
    ("text", "locale"),
    [("você é um robô?", "pt_BR"), ("who made you?", "en"), ("¿cómo te llamas?", "es")],
)
async def test_questions_about_the_bot_are_out_of_scope_with_their_topic(
    understanding: ModelUnderstanding, text: str, locale: str
) -> None:
    parse = await understanding.parse(text, locale)
    assert (parse.intent, parse.entities.get("topic")) == ("out_of_scope", "persona")


async def test_a_foreign_request_carries_no_topic(understanding: ModelUnderstanding) -> None:
    parse = await understanding.parse("book a flight to miami", "en")
    assert parse.intent == "out_of_scope"
    assert "topic" not in parse.entities


class CountingReader:
    """The trained model, counting how often a text is read."""

    def __init__(self, model: NluModel) -> None:
        self._model = model
        self.reads: list[str] = []

    @property
    def threshold(self) -> float:
        return self._model.threshold

    def read(self, text: str) -> Reading:
        self.reads.append(text)
        return self._model.read(text)


async def test_a_repeated_short_text_is_read_once_and_its_dates_still_follow_the_day(
    intent_model: NluModel,
) -> None:
    reader = CountingReader(intent_model)
    days = iter([REFERENCE_DAY, REFERENCE_DAY + timedelta(days=1)])
    understanding = ModelUnderstanding(reader, EntityExtractor(), lambda: next(days))
    first = await understanding.parse("quero reservar de amanhã até domingo", "pt_BR")
    second = await understanding.parse("quero reservar de amanhã até domingo", "pt_BR")
    assert reader.reads == ["quero reservar de amanhã até domingo"]
    assert (first.intent, first.locale) == (second.intent, second.locale) == ("book", "pt_BR")
    day_after = REFERENCE_DAY + timedelta(days=2)
    assert (first.entities["checkin"], second.entities["checkin"]) == (
        (REFERENCE_DAY + timedelta(days=1)).isoformat(),
        day_after.isoformat(),
    )


async def test_a_long_text_is_read_every_time(intent_model: NluModel) -> None:
    reader = CountingReader(intent_model)
    understanding = ModelUnderstanding(reader, EntityExtractor(), lambda: REFERENCE_DAY)
    text = "bom dia, " + "gostaria de saber se vocês aceitam animais de estimação " * 3
    assert len(text) > REMEMBERED_LENGTH
    await understanding.parse(text, "pt_BR")
    await understanding.parse(text, "pt_BR")
    assert reader.reads == [text, text]
