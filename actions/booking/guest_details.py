"""Whether a name slot's answer is a name, and the likely typo in an e-mail's domain.

A guest who answers "sim, pode reservar" or asks a question when the form wants a name has not
given a name; "maria@gmial.com" most likely means gmail.com, and the guest is asked."""

from __future__ import annotations

import difflib
import re
from functools import cache
from pathlib import Path

import yaml

from intents.text import fold

ANSWERS_FILE = Path(__file__).resolve().parent / "answers.yaml"
COMMON_DOMAINS = (
    "gmail.com", "hotmail.com", "hotmail.com.br", "outlook.com", "outlook.com.br", "live.com",
    "yahoo.com", "yahoo.com.br", "icloud.com", "me.com", "msn.com", "uol.com.br", "bol.com.br",
    "terra.com.br", "ig.com.br", "globo.com", "aol.com", "mail.com", "gmx.com", "proton.me",
    "protonmail.com", "zoho.com", "yandex.com",
)  # fmt: skip
"""Providers most guests write; a domain a little off one of them is probably a typo."""
TYPO_CLOSENESS = 0.85


@cache
def _openings(locale: str) -> re.Pattern[str]:
    document = yaml.safe_load(ANSWERS_FILE.read_text(encoding="utf-8"))
    words = [fold(w) for kind in ("answers", "questions") for w in document.get(locale, {})[kind]]
    return re.compile(rf"^\W*(?:{'|'.join(map(re.escape, words))})\b")


def not_a_name(text: str, locale: str) -> bool:
    """An affirmation, a refusal or a question rather than a name."""
    if "?" in text or "@" in text:
        return True
    opening = _openings(locale if locale in ("pt_BR", "en", "es") else "pt_BR")
    return opening.match(fold(text)) is not None


def suggested_email(email: str) -> str | None:
    """The address with a common provider's domain when its own is a near miss, else None."""
    local, _, domain = email.rpartition("@")
    if not local or domain in COMMON_DOMAINS:
        return None
    close = difflib.get_close_matches(domain, COMMON_DOMAINS, n=1, cutoff=TYPO_CLOSENESS)
    return f"{local}@{close[0]}" if close else None
