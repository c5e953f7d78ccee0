"""Button payloads built in the code read back as themselves, and what the parser would refuse or
misread cannot be built: it raises where the button is made, not when a guest presses it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.buttons import MAX_PAYLOAD_CHARS, UNKNOWN_BUTTON, button_payload, parse_payload

names = st.from_regex(r"[a-z_]{1,32}", fullmatch=True)
values = st.from_regex(r"[\w.-]{1,64}", fullmatch=True)
entity_maps = st.dictionaries(names, values, max_size=4)


@given(intent=names, entities=entity_maps)
def test_a_built_payload_parses_back_to_its_intent_and_entities(
    intent: str, entities: dict[str, str]
) -> None:
    written = "|".join([f"intent:{intent}", *(f"{key}={value}" for key, value in entities.items())])
    if len(written) > MAX_PAYLOAD_CHARS:
        with pytest.raises(ValueError, match="characters"):
            button_payload(intent, **entities)
        return
    parsed = parse_payload(button_payload(intent, **entities), "en")
    assert (parsed.intent, dict(parsed.entities)) == (intent, entities)


@given(intent=st.text(max_size=40), entities=st.dictionaries(st.text(max_size=40), st.text()))
def test_whatever_is_built_parses_back_and_nothing_else_is_built(
    intent: str, entities: dict[str, str]
) -> None:
    try:
        payload = button_payload(intent, **entities)
    except ValueError:
        return
    parsed = parse_payload(payload, "en")
    assert parsed.intent != UNKNOWN_BUTTON
    assert (parsed.intent, dict(parsed.entities)) == (intent, entities)


def test_integers_are_written_as_the_parser_reads_them() -> None:
    assert button_payload("refund_approve", id=42) == "intent:refund_approve|id=42"
    assert parse_payload(button_payload("pay", code="RSV-AB12CD"), "en").entities == {
        "code": "RSV-AB12CD"
    }


@pytest.mark.parametrize(
    ("intent", "entities"),
    [
        ("faq", {"topic": "<script>"}),
        ("faq", {"topic": "wifi|x=1"}),
        ("faq", {"topic": "wifi\n"}),
        ("faq", {"topic": ""}),
        ("faq", {"topic": "x" * 65}),
        ("faq", {"Topic": "wifi"}),
        ("faq", {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}),
        ("faq|topic=wifi", {}),
        ("", {}),
        ("pay", {f"k{'_' * 30}{c}": "v" * 64 for c in "abc"}),
    ],
)
def test_a_payload_the_parser_would_refuse_or_misread_is_not_built(
    intent: str, entities: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match=r"intent name|entit|characters"):
        button_payload(intent, **entities)
