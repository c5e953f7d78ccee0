"""A keyword parser behind the engine's ``Understanding`` seam, until the trained model lands.

Each locale's data file maps intents to phrases; the intent whose phrases cover the most words
wins, and the locale whose phrases matched best becomes the message's locale.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.sessions import Session
from bot.types import Parse

OUT_OF_SCOPE = "out_of_scope"
DATA_DIR = Path(__file__).resolve().parent / "keywords"


def normalize(text: str) -> str:
    """Lower case, no accents, words separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.findall(r"[\w-]+", plain))


@dataclass(frozen=True, slots=True)
class _Phrase:
    label: str
    words: int
    pattern: re.Pattern[str]


def _phrases(mapping: dict[str, list[str]], source: Path) -> list[_Phrase]:
    found = []
    for label, phrases in mapping.items():
        for phrase in phrases:
            if not isinstance(phrase, str):
                # YAML reads a bare yes/no/on/off as a boolean: such words must be quoted.
                raise ValueError(f"{source}: {label}: {phrase!r} is not text; quote it")
            found.append(_Phrase(label, len(normalize(phrase).split()), _word_pattern(phrase)))
    return found


def _word_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(normalize(phrase))}(?![\w-])")


class KeywordUnderstanding:
    def __init__(self, data_dir: Path = DATA_DIR) -> None:
        self._intents: dict[str, list[_Phrase]] = {}
        self._controls: dict[str, list[_Phrase]] = {}
        for path in sorted(data_dir.glob("*.yaml")):
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            self._intents[path.stem] = _phrases(document["intents"], path)
            self._controls[path.stem] = _phrases(document.get("controls") or {}, path)

    async def parse(self, text: str, locale: str, session: Session) -> Parse:
        normalized = normalize(text)
        scores = {
            candidate: _scores(normalized, phrases) for candidate, phrases in self._intents.items()
        }
        # Prefer the conversation's locale on a tie: "ok" or "menu" say nothing of the language.
        best_locale = max(
            scores,
            key=lambda candidate: (max(scores[candidate].values(), default=0), candidate == locale),
        )
        best = scores[best_locale]
        if not best:
            return Parse(OUT_OF_SCOPE, 0.0, self._entities(normalized, locale), locale)
        intent = max(best, key=lambda label: best[label])
        covered = best[intent] / max(len(normalized.split()), 1)
        confidence = round(min(1.0, 0.5 + covered / 2), 3)
        return Parse(intent, confidence, self._entities(normalized, best_locale), best_locale)

    def _entities(self, normalized: str, locale: str) -> dict[str, str]:
        control = _scores(normalized, self._controls.get(locale, []))
        if control and len(normalized.split()) <= 4:
            return {"control": max(control, key=lambda label: control[label])}
        return {}


def _scores(normalized: str, phrases: list[_Phrase]) -> dict[str, int]:
    """Words of ``normalized`` covered by each label's matching phrases."""
    scores: dict[str, int] = {}
    for phrase in phrases:
        if phrase.pattern.search(normalized):
            scores[phrase.label] = scores.get(phrase.label, 0) + phrase.words
    return scores
