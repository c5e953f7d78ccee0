"""Text normalisation shared by the classifier's features and the entity extractors."""

from __future__ import annotations

import re
import unicodedata

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
BOOKING_CODE = re.compile(r"\brsv-?[a-z0-9]{6}\b", re.IGNORECASE)
_REPEATS = re.compile(r"(\w)\1{2,}")
_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower case without accents: "Amanhã" → "amanha"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def for_features(text: str) -> str:
    """What the classifier sees: folded, stretched letters shortened ("oiiiii" → "oii"),
    e-mails, booking codes and digits replaced by placeholders, so that it learns the
    shape of a message rather than its particular values."""
    folded = fold(text)
    folded = EMAIL.sub(" emailaddress ", folded)
    folded = BOOKING_CODE.sub(" bookingcode ", folded)
    folded = _DIGITS.sub("0", folded)
    folded = _REPEATS.sub(r"\1\1", folded)
    return _SPACES.sub(" ", folded).strip()
