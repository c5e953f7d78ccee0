"""The ``wa.me`` deep link and ``rsv360 whatsapp link``: the prefilled message names the
property in a form the channel reads back."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.root.cli import LinkImpossible, main, whatsapp_link
from bot.root.settings import Settings
from channels.whatsapp.registration import deep_link_url, linked_property, property_mark

slugs = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,63}\Z")


@given(slugs, st.text(max_size=80))
def test_a_prefilled_message_names_its_property_whatever_the_words(slug: str, words: str) -> None:
    prefilled = f"{words} {property_mark(slug)}"
    assert linked_property(prefilled) == slug
    url = deep_link_url("+5511999990000", prefilled)
    assert url.startswith("https://wa.me/5511999990000?text=")
    assert parse_qs(urlsplit(url).query, keep_blank_values=True)["text"] == [prefilled]


def test_text_without_a_mark_names_no_property() -> None:
    assert linked_property("quero reservar [pousada]") is None
    with pytest.raises(ValueError, match="not a property slug"):
        property_mark("Pousada do Mar")


def test_the_link_command_prints_the_link_in_the_chosen_language(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(whatsapp={"number": "5511999990000"})
    url = whatsapp_link(settings, "pousada-do-mar", "es")
    [text] = parse_qs(urlsplit(url).query)["text"]
    assert text == "¡Hola! Quiero reservar en Pousada do Mar. [#pousada-do-mar]"
    assert linked_property(text) == "pousada-do-mar"


def test_the_link_command_refuses_without_a_number_or_for_an_unknown_property(
    make_settings: Callable[..., Settings],
) -> None:
    with pytest.raises(LinkImpossible, match="RSV_WHATSAPP_NUMBER"):
        whatsapp_link(make_settings(), "pousada-do-mar")
    with pytest.raises(LinkImpossible, match="no property 'nope'"):
        whatsapp_link(make_settings(whatsapp={"number": "5511999990000"}), "nope")


def test_the_command_line_prints_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("RSV_WHATSAPP_NUMBER", "+5511999990000")
    monkeypatch.setenv("RSV_DATA_DIR", str(tmp_path))
    main(["whatsapp", "link", "pousada-do-mar", "--locale", "en"])
    url = capsys.readouterr().out.strip()
    assert parse_qs(urlsplit(url).query)["text"] == [
        "Hi! I'd like to book at Pousada do Mar. [#pousada-do-mar]"
    ]
