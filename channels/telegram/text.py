"""Telegram's text rules: HTML parse mode escaping and the 4096-character message limit.

Replies are rendered as plain text and escaped here, so nothing a guest typed (a name with
``<`` or ``&``) can break the markup. Telegram counts the limit on the text after entities are
parsed, so the plain text is split first and each part escaped: a split can never fall inside
an escape or a tag.
"""

from __future__ import annotations

import html

from channels.text import split_text

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024


def escape(text: str) -> str:
    return html.escape(text, quote=False)


__all__ = ["CAPTION_LIMIT", "MESSAGE_LIMIT", "escape", "split_text"]
