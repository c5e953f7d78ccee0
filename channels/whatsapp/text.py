"""WhatsApp's text rules: its own formatting markers, and the limits of each kind of message.

WhatsApp turns ``*a*`` into bold, ``_a_`` italics, ``~a~`` strikethrough and three backticks
monospace, with no escape character. Replies are plain text, so a marker pair that would format
(a guest's ``*urgent*``, a name with underscores at word edges) gets a zero-width space after
its opening marker: what the guest sees is the same characters, unformatted. Markers inside a
word (``a*b*c``, ``snake_case_name``) never format and are left alone.
"""

from __future__ import annotations

import re

from channels.text import split_text

MESSAGE_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
CAPTION_LIMIT = 1024
BUTTON_TITLE_LIMIT = 20
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
MAX_REPLY_BUTTONS = 3
MAX_LIST_ROWS = 10
ZERO_WIDTH_SPACE = "\u200b"

_FORMATTING = re.compile(r"(?<![\w*_~`])([*_~])(?=[^\s*_~])(.+?)(?<=[^\s])\1(?![\w])", re.DOTALL)
_MONOSPACE = "```"


def escape(text: str) -> str:
    text = text.replace(_MONOSPACE, f"``{ZERO_WIDTH_SPACE}`")
    return _FORMATTING.sub(lambda match: f"{match[1]}{ZERO_WIDTH_SPACE}{match[2]}{match[1]}", text)


def shorten(title: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word with an ellipsis when it must be cut."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    cut = title[: limit - 1]
    at_word = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return f"{at_word.rstrip(' ,.;:-')}…"


__all__ = [
    "BUTTON_TITLE_LIMIT",
    "CAPTION_LIMIT",
    "INTERACTIVE_BODY_LIMIT",
    "MAX_LIST_ROWS",
    "MAX_REPLY_BUTTONS",
    "MESSAGE_LIMIT",
    "ROW_DESCRIPTION_LIMIT",
    "ROW_TITLE_LIMIT",
    "escape",
    "shorten",
    "split_text",
]
