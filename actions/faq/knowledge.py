"""What a property tells its guests, loaded from ``actions/faq/knowledge/<slug>.yaml``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

KNOWLEDGE_DIR = Path(__file__).resolve().parent / "knowledge"


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


def load_knowledge(directory: Path = KNOWLEDGE_DIR) -> dict[str, PropertyKnowledge]:
    properties = {}
    for path in sorted(directory.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        properties[document["slug"]] = PropertyKnowledge(
            slug=document["slug"],
            name=document["name"],
            map_url=document.get("map_url"),
            answers=document.get("answers") or {},
            welcome=tuple(document.get("welcome") or ()),
        )
    return properties
