"""The locales the bot speaks and their gettext catalogs (compiled from the .po files at load)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

SUPPORTED_LOCALES = ("pt_BR", "en", "es")
DOMAIN = "messages"


def negotiate(hint: str | None, fallback: str) -> str:
    """Map a hint such as ``pt-PT``, ``en_US`` or ``es`` to a supported locale."""
    if not hint:
        return fallback
    language = hint.replace("-", "_").split("_")[0].lower()
    return next(
        (locale for locale in SUPPORTED_LOCALES if locale.split("_")[0] == language), fallback
    )


def load_translations(locales_dir: Path, locale: str) -> Translations:
    po_file = locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_file.open("rb") as source:
        catalog = read_po(source, locale=locale, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)
