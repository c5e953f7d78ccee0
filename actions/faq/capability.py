"""Questions about the stay plug in: each property's knowledge file, the FAQ conversation and
the chat window's greeting."""

from __future__ import annotations

from pathlib import Path

from actions.capability import Capability, Kit
from actions.faq.conversation import Faq, create_router
from actions.faq.knowledge import load_knowledge
from actions.faq.topics import TopicFinder
from actions.faq.welcome import welcome


def plug(kit: Kit, knowledge_dir: Path) -> Capability:
    topics = TopicFinder()
    kit.services.provide(
        Faq(load_knowledge(knowledge_dir, topics.topics), kit.default_property, topics)
    )
    router = create_router()
    router.intent("welcome")(welcome)  # the chat window's greeting, with the property's buttons
    return Capability(router)
