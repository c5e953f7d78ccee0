"""The keyword parser behind the Understanding seam, and button payloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sessions import Session
from bot.understanding import parse_payload
from intents import KeywordUnderstanding
from intents.keywords import normalize


@pytest.fixture(scope="module")
def understanding() -> KeywordUnderstanding:
    return KeywordUnderstanding()


@pytest.mark.parametrize(
    ("text", "locale_in", "intent", "locale_out"),
    [
        ("Oi, bom dia!", "pt_BR", "greet", "pt_BR"),
        ("OLÁ", "en", "greet", "pt_BR"),
        ("hello there", "pt_BR", "greet", "en"),
        ("muchas gracias", "pt_BR", "thanks", "es"),
        ("valeu!!", "pt_BR", "thanks", "pt_BR"),
        ("menu", "es", "help", "es"),
        ("menu", "en", "help", "en"),
        ("quero falar com um atendente", "pt_BR", "human", "pt_BR"),
        ("asdfgh", "en", "out_of_scope", "en"),
        ("", "pt_BR", "out_of_scope", "pt_BR"),
    ],
)
async def test_intents_and_locales(
    understanding: KeywordUnderstanding, text: str, locale_in: str, intent: str, locale_out: str
) -> None:
    parse = await understanding.parse(text, locale_in, Session("c", locale_in))
    assert (parse.intent, parse.locale) == (intent, locale_out)
    assert 0.0 <= parse.confidence <= 1.0


@pytest.mark.parametrize(
    ("text", "locale", "control"),
    [("cancelar", "pt_BR", "cancel"), ("start over", "en", "restart"), ("salir", "es", "cancel")],
)
async def test_form_controls_are_entities(
    understanding: KeywordUnderstanding, text: str, locale: str, control: str
) -> None:
    parse = await understanding.parse(text, locale, Session("c", locale))
    assert parse.entities == {"control": control}


async def test_a_long_message_mentioning_cancel_is_no_control(
    understanding: KeywordUnderstanding,
) -> None:
    parse = await understanding.parse(
        "what happens to my deposit if I cancel next week", "en", Session("c", "en")
    )
    assert "control" not in parse.entities


def test_normalize_drops_case_accents_and_punctuation() -> None:
    assert normalize("  Olá,   Açaí!! check-in? ") == "ola acai check-in"


def test_an_unquoted_yaml_boolean_is_refused(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text("intents:\n  affirm: [yes, ok]\n")
    with pytest.raises(ValueError, match="quote it"):
        KeywordUnderstanding(tmp_path)


@pytest.mark.parametrize(
    ("payload", "intent"),
    [("intent:help", "help"), ("form:yes", "button"), ("nonsense", "unknown_button")],
)
def test_button_payloads(payload: str, intent: str) -> None:
    parse = parse_payload(payload, "es")
    assert (parse.intent, parse.confidence, parse.locale) == (intent, 1.0, "es")
