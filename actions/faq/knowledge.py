"""What a property tells its guests, loaded from ``actions/faq/knowledge/<slug>.yaml`` or an
override saved in the console; both are checked by ``parse_knowledge``."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actions.faq.topics import TopicFinder
from bot.core.documents import DocumentError, mapping, only, read_yaml, text
from bot.core.locales import SUPPORTED_LOCALES

KNOWLEDGE_DIR = Path(__file__).resolve().parent / "knowledge"
KNOWLEDGE_FIELDS = frozenset({"slug", "name", "map_url", "welcome", "answers"})
WELCOME_BUTTONS = frozenset({"book", "prices", "my_bookings", "human", "questions"})
MAX_ANSWER_CHARS = 2000
MAX_NAME_CHARS = 120
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")


@dataclass(frozen=True, slots=True)
class PropertyKnowledge:
    slug: str
    name: str
    map_url: str | None
    answers: Mapping[str, Mapping[str, str]]
    welcome: tuple[str, ...] = ()
    """The quick replies of the chat window's greeting (book, prices, my_bookings, human,
    questions), in order; empty for the default ones."""

    def answer(self, topic: str, locale: str) -> str | None:
        return self.answers.get(topic, {}).get(locale)


def parse_knowledge(
    loaded: Any, topics: Collection[str], slug: str | None = None
) -> PropertyKnowledge:
    """A property's knowledge from a loaded document: answers only for ``topics`` (the FAQ's)
    and the supported languages, each a non-empty text; ``slug``, when given, must be the
    document's. ``DocumentError`` names the field (``answers.pets.xx: unknown language``)."""
    document = mapping(loaded, "")
    only(document, KNOWLEDGE_FIELDS)
    declared = text(document.get("slug"), "slug", 80)
    if not SLUG.fullmatch(declared):
        raise DocumentError("slug", f"{declared!r} is not a property's slug")
    if slug is not None and declared != slug:
        raise DocumentError("slug", f"must stay {slug!r}")
    map_url = document.get("map_url")
    if map_url is not None and not (
        isinstance(map_url, str) and map_url.startswith("https://") and len(map_url) <= 500
    ):
        raise DocumentError("map_url", "must be an https:// address")
    welcome = document.get("welcome") or []
    if not isinstance(welcome, list):
        raise DocumentError("welcome", "must be a list of buttons")
    for index, button in enumerate(welcome):
        if button not in WELCOME_BUTTONS:
            raise DocumentError(f"welcome[{index}]", f"unknown button {button!r}")
    return PropertyKnowledge(
        slug=declared,
        name=text(document.get("name"), "name", MAX_NAME_CHARS),
        map_url=map_url,
        answers=_answers(document.get("answers"), topics),
        welcome=tuple(welcome),
    )


def _answers(declared: Any, topics: Collection[str]) -> dict[str, dict[str, str]]:
    answers: dict[str, dict[str, str]] = {}
    for topic, by_locale in mapping(declared, "answers").items():
        if topic not in topics:
            raise DocumentError(f"answers.{topic}", "unknown topic")
        answers[topic] = {}
        for locale, answer in mapping(by_locale, f"answers.{topic}").items():
            where = f"answers.{topic}.{locale}"
            if locale not in SUPPORTED_LOCALES:
                raise DocumentError(where, "unknown language")
            answers[topic][locale] = text(answer, where, MAX_ANSWER_CHARS)
    return answers


def load_knowledge(
    directory: Path = KNOWLEDGE_DIR, topics: Collection[str] | None = None
) -> dict[str, PropertyKnowledge]:
    """Every property's knowledge file, checked (``topics``: the FAQ's, by default)."""
    topics = TopicFinder().topics if topics is None else topics
    properties = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            knowledge = parse_knowledge(
                read_yaml(path.read_text(encoding="utf-8")), topics, path.stem
            )
        except DocumentError as error:
            raise DocumentError(f"{path}: {error.where}", error.reason) from None
        properties[knowledge.slug] = knowledge
    return properties
