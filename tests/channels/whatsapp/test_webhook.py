"""The webhook's parser and signature check, fed arbitrary input (hypothesis): a body is either
read into what it says or refused with ``MalformedNotification``, never anything else, and only
the app secret's HMAC of the exact body passes."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from channels.whatsapp.webhook import (
    IncomingMessage,
    MalformedNotification,
    StatusUpdate,
    parse_notification,
    sign,
    signature_matches,
)
from tests.fakes import whatsapp as meta

SECRET = meta.APP_SECRET.encode()
numbers = st.from_regex(r"\A[1-9][0-9]{7,14}\Z")
ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=80)
texts = st.text(max_size=300)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def guest_messages(draw: st.DrawFn) -> tuple[dict[str, Any], IncomingMessage]:
    """A message as Meta posts it, and what the channel must read from it."""
    sender, message_id = draw(numbers), draw(ids)
    kind = draw(
        st.sampled_from(["text", "button", "list", "location", "image", "voice", "sticker"])
    )
    if kind == "text":
        body = draw(texts)
        return meta.text(sender, body, message_id), IncomingMessage(
            message_id, sender, "text", text=body
        )
    if kind in ("button", "list"):
        chosen = draw(ids)
        reply = meta.button_reply if kind == "button" else meta.list_reply
        document = reply(sender, chosen)
        document["id"] = message_id
        return document, IncomingMessage(message_id, sender, "reply", reply_id=chosen)
    if kind == "location":
        name = draw(st.none() | st.text(min_size=1, max_size=40))
        place = {"latitude": draw(st.floats(-90, 90)), "longitude": draw(st.floats(-180, 180))}
        if name is not None:
            place["name"] = name
        return (
            meta.message(sender, "location", place, message_id),
            IncomingMessage(message_id, sender, "location", text=name or None),
        )
    if kind == "image":
        caption = draw(st.none() | texts)
        image: dict[str, Any] = {"id": draw(ids), "mime_type": "image/jpeg"}
        if caption is not None:
            image["caption"] = caption
        return (
            meta.message(sender, "image", image, message_id),
            IncomingMessage(message_id, sender, "image", text=caption),
        )
    if kind == "voice":
        media = draw(ids)
        document = meta.voice(sender, media)
        document["id"] = message_id
        return document, IncomingMessage(message_id, sender, "voice", media_id=media)
    sticker = meta.message(sender, "sticker", {"id": draw(ids)}, message_id)
    return sticker, IncomingMessage(message_id, sender, "other")


statuses = st.builds(
    lambda message_id, recipient, state, codes: (
        meta.status(message_id, recipient, state, *codes),
        StatusUpdate(message_id, recipient, state, tuple(codes)),
    ),
    ids,
    numbers,
    st.sampled_from(["sent", "delivered", "read", "failed"]),
    st.lists(st.integers(0, 10**6), max_size=3),
)


@given(st.lists(guest_messages(), max_size=5), st.lists(statuses, max_size=5))
def test_a_notification_is_read_into_its_messages_and_statuses(
    messages: list[tuple[dict[str, Any], IncomingMessage]],
    updates: list[tuple[dict[str, Any], StatusUpdate]],
) -> None:
    document = meta.notification([m for m, _ in messages], [s for s, _ in updates])
    read = parse_notification(json.dumps(document).encode())
    assert list(read.messages) == [expected for _, expected in messages]
    assert list(read.statuses) == [expected for _, expected in updates]


@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_read_or_refused_cleanly(body: bytes) -> None:
    with contextlib.suppress(MalformedNotification):
        parse_notification(body)


@given(json_values)
def test_arbitrary_json_is_read_or_refused_cleanly(document: Any) -> None:
    try:
        read = parse_notification(json.dumps(document).encode())
    except MalformedNotification:
        return
    assert read.messages == ()
    assert read.statuses == ()


@given(
    st.dictionaries(
        st.sampled_from(["id", "from", "type", "text", "audio", "interactive"]), json_values
    )
)
def test_a_message_of_any_shape_in_a_valid_envelope_is_read_or_refused(
    message: dict[str, Any],
) -> None:
    with contextlib.suppress(MalformedNotification):
        parse_notification(json.dumps(meta.notification([message])).encode())


def test_changes_other_than_messages_are_ignored() -> None:
    document = meta.notification([meta.text("5511900000000", "oi")])
    document["entry"][0]["changes"][0]["field"] = "account_update"
    assert parse_notification(json.dumps(document).encode()).messages == ()


@given(st.binary(max_size=200), st.binary(min_size=1, max_size=40))
def test_only_the_secrets_hmac_of_the_exact_body_passes(body: bytes, other: bytes) -> None:
    header = sign(body, SECRET)
    assert signature_matches(body, header, SECRET)
    assert not signature_matches(body + other, header, SECRET)
    assume(other.strip(b"\x00"))  # HMAC pads a short key with zeros: those are the same key
    assert not signature_matches(body, header, SECRET + other)
    assert not signature_matches(body, header.removeprefix("sha256="), SECRET)


@given(st.text(max_size=80))
def test_any_header_text_is_compared_without_raising(header: str) -> None:
    assert not signature_matches(b"{}", header, SECRET) or header == sign(b"{}", SECRET)
