"""Entities of a message: stay dates and guests for a new stay request, e-mails, booking codes,
and the form controls (cancel, start over)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from intents.dates import stay_dates
from intents.guests import guests
from intents.text import BOOKING_CODE, EMAIL, fold

CONTROLS_FILE = Path(__file__).resolve().parent / "controls.yaml"
CONTROL_MAX_WORDS = 4
STAY_REQUEST = "book"


class EntityExtractor:
    def __init__(self, controls_file: Path = CONTROLS_FILE) -> None:
        document = yaml.safe_load(controls_file.read_text(encoding="utf-8"))
        self._controls: dict[str, list[tuple[str, re.Pattern[str]]]] = {
            locale: [
                (control, re.compile(rf"\b{re.escape(fold(phrase))}\b"))
                for control, phrases in controls.items()
                for phrase in phrases
            ]
            for locale, controls in document.items()
        }

    def extract(self, text: str, locale: str, intent: str, today: date) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if intent == STAY_REQUEST:
            found.update(stay_dates(text, locale, today).as_entities())
            found.update(guests(text, locale).as_entities())
        email = EMAIL.search(text)
        if email is not None:
            found["email"] = email.group(0).lower()
        code = BOOKING_CODE.search(text)
        if code is not None:
            found["booking_code"] = "RSV-" + code.group(0)[-6:].upper()
        control = self._control(text, locale)
        if control is not None:
            found["control"] = control
        return found

    def _control(self, text: str, locale: str) -> str | None:
        folded = fold(text)
        if len(folded.split()) > CONTROL_MAX_WORDS:
            return None
        for control, pattern in self._controls.get(locale, []):
            if pattern.search(folded):
                return control
        return None
