"""The Conversations pages' edge parsers: a page number, a conversation's number and a message
to a guest; whatever a browser sends, a bounded, clean value or None with the reason, never an
exception."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.text import has_control
from channels.console.conversations import (
    MAX_ID_DIGITS,
    MAX_MESSAGE_CHARS,
    conversation_id,
    message_text,
    page_number,
)


def test_page_numbers_are_small_counting_numbers() -> None:
    assert page_number(None) == 1
    assert page_number("7") == 7
    assert [page_number(raw) for raw in ("0", "-1", "1e3", "٣", "123456", "", " 2")] == [None] * 7


@given(st.one_of(st.none(), st.text(max_size=12)))
def test_any_page_query_gives_a_page_from_one_or_none(raw: str | None) -> None:
    number = page_number(raw)
    assert number is None or 1 <= number <= 99_999


@given(st.text(max_size=20))
def test_any_path_gives_a_conversation_number_or_none(raw: str) -> None:
    number = conversation_id(raw)
    assert number is None or 0 <= number < 10**MAX_ID_DIGITS
    assert (number is not None) == (raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS)


def test_a_message_is_trimmed_and_refused_when_empty_or_too_long() -> None:
    assert message_text("  Sim, até 10 kg.\r\n") == ("Sim, até 10 kg.", None)
    assert message_text(" \n\t ") == (None, "empty")
    assert message_text(None) == (None, "empty")
    assert message_text("x" * (MAX_MESSAGE_CHARS + 1)) == (None, "too_long")
    assert message_text("x" * MAX_MESSAGE_CHARS) == ("x" * MAX_MESSAGE_CHARS, None)
    assert message_text("\ud800") == (None, "empty")  # not encodable


@given(st.one_of(st.none(), st.integers(), st.binary(), st.text(max_size=2100)))
def test_any_field_gives_clean_text_or_a_reason(raw: object) -> None:
    text, problem = message_text(raw)
    assert (text is None) != (problem is None)
    if text is not None:
        assert text == text.strip()
        assert text
        assert len(text) <= MAX_MESSAGE_CHARS
        assert not has_control(text.replace("\n", "").replace("\t", ""))
