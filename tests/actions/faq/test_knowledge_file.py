"""A property's knowledge as ``parse_knowledge`` checks it: the repo's files load, and each
mistake (a topic the FAQ does not know, a language the bot does not speak, an empty answer, another
property's slug) is refused naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from actions.faq.knowledge import load_knowledge, parse_knowledge
from actions.faq.topics import TopicFinder
from bot.core.documents import DocumentError

TOPICS = TopicFinder().topics


def good(**changed: Any) -> dict[str, Any]:
    return {
        "slug": "pousada-do-mar",
        "name": "Pousada do Mar",
        "answers": {"pets": {"pt_BR": "Sim.", "en": "Yes."}},
        **changed,
    }


def test_the_repos_files_load() -> None:
    known = load_knowledge()
    assert known["pousada-do-mar"].answer("pets", "en") is not None


def test_a_good_document_is_the_propertys_knowledge() -> None:
    knowledge = parse_knowledge(good(welcome=["book", "human"]), TOPICS, "pousada-do-mar")
    assert (knowledge.answer("pets", "en"), knowledge.welcome) == ("Yes.", ("book", "human"))


@pytest.mark.parametrize(
    ("document", "where", "reason"),
    [
        (good(answers={"pets": {"xx": "?"}}), "answers.pets.xx", "unknown language"),
        (good(answers={"sauna": {"en": "Yes."}}), "answers.sauna", "unknown topic"),
        (good(answers={"pets": {"en": "  "}}), "answers.pets.en", "non-empty"),
        (good(answers={"pets": {"en": "x" * 2001}}), "answers.pets.en", "longer than 2000"),
        (good(answers={"pets": "Yes."}), "answers.pets", "must be a mapping"),
        (good(slug="other"), "slug", "must stay 'pousada-do-mar'"),
        (good(name=None), "name", "non-empty"),
        (good(map_url="javascript:alert(1)"), "map_url", "https://"),
        (good(welcome=["book", "dance"]), "welcome[1]", "unknown button 'dance'"),
        (good(answer={}), "answer", "unknown field"),
    ],
)
def test_a_mistake_is_refused_naming_its_field(document: Any, where: str, reason: str) -> None:
    with pytest.raises(DocumentError) as refused:
        parse_knowledge(document, TOPICS, "pousada-do-mar")
    assert refused.value.where == where
    assert reason in refused.value.reason
