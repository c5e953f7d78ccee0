"""WhatsApp's names and the ``wa.me`` deep link, light enough for a command-line call."""

from __future__ import annotations

import re
from urllib.parse import quote

CHANNEL = "whatsapp"
WEBHOOK_PATH = "/whatsapp/webhook"
PROPERTY_MARK = re.compile(r"\[#([a-z0-9][a-z0-9-]{0,63})\]\s*$")
"""How a prefilled message names its property: ``[#pousada-do-mar]`` at the end."""


def property_mark(slug: str) -> str:
    if PROPERTY_MARK.fullmatch(f"[#{slug}]") is None:
        raise ValueError(f"not a property slug: {slug!r}")
    return f"[#{slug}]"


def deep_link_url(number: str, prefilled: str) -> str:
    """``https://wa.me/<number>?text=…``: opens a chat with the business, the text typed in."""
    digits = number.lstrip("+")
    return f"https://wa.me/{digits}?text={quote(prefilled, safe='')}"


def linked_property(text: str) -> str | None:
    """The property a prefilled deep-link message names, if the text is one."""
    match = PROPERTY_MARK.search(text)
    return match.group(1) if match else None
