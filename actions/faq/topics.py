"""Which topic a guest's question is about, from the phrases in ``topics.yaml``."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from intents.text import fold

TOPICS_FILE = Path(__file__).resolve().parent / "topics.yaml"
QUESTION_BREAKS = re.compile(r"[?!.;\n]+|\s(?:e|and|y|tambem|also|tambien|ademas)\s")
"""Where one question ends and the next begins: "quanto custa o café? aceita cachorro?"."""


class TopicFinder:
    def __init__(self, path: Path = TOPICS_FILE) -> None:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.topics = tuple(document)
        self._phrases: dict[str, list[tuple[str, int, re.Pattern[str]]]] = {}
        for topic, by_locale in document.items():
            for locale, phrases in by_locale.items():
                self._phrases.setdefault(locale, []).extend(
                    (
                        topic,
                        len(fold(phrase).split()),
                        re.compile(rf"\b{re.escape(fold(phrase))}\b"),
                    )
                    for phrase in phrases
                )

    def topic_of(self, text: str, locale: str) -> str | None:
        folded = fold(text)
        covered: dict[str, int] = {}
        for topic, words, pattern in self._phrases.get(locale, []):
            if pattern.search(folded):
                covered[topic] = covered.get(topic, 0) + words
        return max(covered, key=lambda topic: covered[topic]) if covered else None

    def topics_in(self, text: str, locale: str) -> list[str]:
        """The topic of each question the text asks, in the order asked, each once."""
        found = (self.topic_of(part, locale) for part in QUESTION_BREAKS.split(fold(text)))
        return list(dict.fromkeys(topic for topic in found if topic is not None))
