"""WhatsApp's text rules, for any text (hypothesis): escaping changes nothing the guest reads and
leaves no pair of markers that would format; titles are cut at a word within the limit."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from channels.whatsapp.text import ZERO_WIDTH_SPACE, escape, shorten

FORMATTING = re.compile(
    r"(?<![\w*_~`])([*_~])(?=[^\s*_~\u200b])(.+?)(?<=[^\s])\1(?![\w])", re.DOTALL
)
marked = st.text(st.sampled_from("ab _*~`\n.-"), max_size=60)


@given(marked | st.text(max_size=200))
def test_escaping_keeps_the_characters_and_leaves_nothing_that_formats(text: str) -> None:
    escaped = escape(text)
    assert escaped.replace(ZERO_WIDTH_SPACE, "") == text.replace(ZERO_WIDTH_SPACE, "")
    assert FORMATTING.search(escaped) is None
    assert "```" not in escaped


def test_markers_inside_words_are_left_as_typed() -> None:
    assert escape("maria_souza_filhos 2*3*4") == "maria_souza_filhos 2*3*4"
    assert escape("*oferta* _hoje_ ~caro~") == ("*\u200boferta* _\u200bhoje_ ~\u200bcaro~")


@given(st.text(min_size=1, max_size=80), st.integers(2, 30))
def test_a_title_is_cut_at_a_word_within_the_limit(title: str, limit: int) -> None:
    short = shorten(title, limit)
    assert len(short) <= limit
    words = " ".join(title.split())
    if len(words) <= limit:
        assert short == words
    else:
        assert short.endswith("…")
        assert words.startswith(short[:-1].rstrip(" ,.;:-"))


def test_a_title_keeps_whole_words() -> None:
    assert shorten("Quarto Standard · R$ 712,00", 24) == "Quarto Standard · R$…"
