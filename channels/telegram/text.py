"""Telegram's text rules: HTML parse mode escaping and the 4096-character message limit.

Replies are rendered as plain text and escaped here, so nothing a guest typed (a name with
``<`` or ``&``) can break the markup. Telegram counts the limit on the text after entities are
parsed, so the plain text is split first and each part escaped: a split can never fall inside
an escape or a tag.
"""

from __future__ import annotations

import html

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Parts of at most ``limit`` characters, cut at a paragraph, else a line, else a space."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = next(
            (at for at in (window.rfind(sep) for sep in ("\n\n", "\n", " ")) if at > 0), limit
        )
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts
