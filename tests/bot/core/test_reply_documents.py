"""Replies that wait in a store or a queue (pending widget replies, the durable outbox) come back
whole: buttons, picture, the code to copy, and the notice a channel may send as its template."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.core.types import Button, Image, Notice, Reply, reply_document, reply_from_document

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
    st.decimals(allow_nan=False, allow_infinity=False),
)
VALUES = st.dictionaries(
    st.text(min_size=1),
    st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=6),
    max_size=5,
)


def through_json(reply: Reply) -> Reply:
    return reply_from_document(json.loads(json.dumps(reply_document(reply))))


@given(
    text=st.text(),
    copy_text=st.none() | st.text(min_size=1),
    values=VALUES,
    titles=st.lists(st.text(min_size=1), max_size=3),
)
def test_a_reply_comes_back_whole(
    text: str, copy_text: str | None, values: dict[str, Any], titles: list[str]
) -> None:
    reply = Reply(
        text,
        tuple(Button(title, payload=f"p{n}") for n, title in enumerate(titles)),
        Image("https://bot.example/media/x.png", "chart", "x"),
        copy_text=copy_text,
        notice=Notice("payments/confirmed", values, "pt_BR"),
    )
    back = through_json(reply)
    assert back == reply
    assert back.notice is not None
    assert back.notice.template == "payments/confirmed"
    assert back.notice.locale == "pt_BR"
    assert back.notice.values == {
        key: list(value) if isinstance(value, tuple) else value for key, value in values.items()
    }


def test_a_notice_keeps_its_dates_and_amounts() -> None:
    values = {"check_in": date(2027, 1, 2), "at": datetime(2027, 1, 1, 12, tzinfo=UTC)}
    values |= {"total": Decimal("1234.50"), "nested": {"days": [date(2027, 1, 3)]}}
    back = through_json(Reply("ok", notice=Notice("booking/held", values, "en")))
    assert back.notice is not None
    assert back.notice.values == values


def test_a_reply_without_notice_or_code_stays_without() -> None:
    back = through_json(Reply("oi"))
    assert back == Reply("oi")
    assert back.notice is None
    assert back.copy_text is None
