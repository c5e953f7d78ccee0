"""Sessions as stored: one JSON document per conversation, versioned and capped in size."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.steps.sessions import SCHEMA_VERSION, FormState, Session, dump_session, load_session


def test_a_session_round_trips() -> None:
    session = Session(conversation_id="c1", locale="es", user_id="u1")
    session.form = FormState("contact", {"email": "a@b.co"}, asking="name")
    session.experiments["greeting_tone"] = "warm"
    session.remember("guest", "hola", "greet")
    assert load_session(dump_session(session, 16_384), "c1", "pt_BR") == session


def test_an_oversized_session_drops_its_oldest_history_first() -> None:
    session = Session(conversation_id="c", locale="pt_BR")
    for number in range(20):
        session.remember("guest", f"{number:02d} " + "x" * 400)
    raw = dump_session(session, 4096)
    assert len(raw.encode()) <= 4096
    kept = load_session(raw, "c", "pt_BR").history
    assert kept
    assert kept[-1]["text"].startswith("19 ")
    assert len(kept) < 20


def test_a_session_too_big_even_without_history_is_reset_but_keeps_its_locale() -> None:
    session = Session(conversation_id="c", locale="es", data={"blob": "y" * 10_000})
    loaded = load_session(dump_session(session, 2048), "c", "pt_BR")
    assert loaded.locale == "es"
    assert loaded.data == {}


@pytest.mark.parametrize(
    "raw",
    ["not json", "[1, 2]", json.dumps({"v": SCHEMA_VERSION + 1, "locale": "en"}), '{"v": 1}'],
)
def test_an_unreadable_or_unknown_session_starts_fresh(raw: str) -> None:
    assert load_session(raw, "c", "pt_BR") == Session(conversation_id="c", locale="pt_BR")


def test_history_is_bounded() -> None:
    session = Session(conversation_id="c", locale="en")
    for number in range(100):
        session.remember("guest", str(number))
    assert len(session.history) == 20
    assert session.history[-1]["text"] == "99"


@given(
    texts=st.lists(st.text(max_size=600), max_size=30),
    data=st.dictionaries(
        st.text(max_size=20),
        st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=50)),
        max_size=10,
    ),
)
def test_any_text_and_data_round_trip_within_the_cap(
    texts: list[str], data: dict[str, object]
) -> None:
    session = Session(conversation_id="c", locale="pt_BR", data=data)
    for text in texts:
        session.remember("guest", text)
    raw = dump_session(session, 16_384)
    assert len(raw.encode()) <= 16_384
    loaded = load_session(raw, "c", "en")
    assert loaded.data == data
    assert loaded.history == session.history[len(session.history) - len(loaded.history) :]
