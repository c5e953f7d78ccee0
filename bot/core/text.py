"""Text from outside made safe to keep and to show: Unicode scalar values, NFC, nothing invisible.

JSON can carry a lone surrogate (``"\\ud800"``) that no UTF-8 encoder accepts, so Redis, the
database and the logs would fail on it later, far from where it came in: the edge refuses such
text. What staff read (names, e-mails) must look like what is stored: bidirectional overrides
and zero-width characters can make one name pass for another, so they are removed. PostgreSQL
cannot store NUL in text at all, and other control characters have no business in a name.
"""

from __future__ import annotations

import re
import unicodedata

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb]"
)
"""Bidirectional overrides and isolates, zero-width spaces and other invisible format
characters. The joiners and variation selectors are not among them: emoji (❤️, 👨‍👩‍👧) and
scripts such as Persian need them in a message."""
_JOINERS = re.compile("[\u200c\u200d\ufe00-\ufe0f]")
"""Zero-width too, but only a name goes without them: two names that look alike are one."""
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 and C1 controls but tab and line feed (CR is folded into a line break by ``clean``)."""


def is_scalar_text(text: str) -> bool:
    """True when every code point is a Unicode scalar value (so the text encodes as UTF-8)."""
    return _LONE_SURROGATE.search(text) is None


def scalar(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD, so that it always encodes."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def visible(text: str) -> str:
    """NFC without invisible format characters; control characters are left for the caller."""
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", text))


def clean(text: str) -> str:
    """Free text as the bot keeps it: NFC, no invisible format characters, line breaks as
    ``\\n`` and other control characters gone. The text must be scalar (``is_scalar_text``)."""
    return _CONTROL.sub("", visible(text.replace("\r\n", "\n").replace("\r", "\n")))


def has_control(text: str) -> bool:
    """True for text with a control character (NUL included) that is not a tab or line break."""
    return _CONTROL.search(text) is not None or not is_scalar_text(text)


def one_line(text: str) -> str:
    """A name or an address as staff read it: NFC, nothing invisible, spaces collapsed. Control
    characters stay, so that the caller can refuse them (``has_control``) instead of storing
    something other than what the guest typed."""
    return " ".join(_JOINERS.sub("", visible(text)).split())
