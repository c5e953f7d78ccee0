"""Questions about the stay plug in: each property's knowledge file and the FAQ conversation."""

from __future__ import annotations

from pathlib import Path

from actions.capability import Capability, Kit
from actions.faq.conversation import Faq, create_router
from actions.faq.knowledge import load_knowledge
from actions.faq.topics import TopicFinder


def plug(kit: Kit, knowledge_dir: Path) -> Capability:
    kit.services.provide(Faq(load_knowledge(knowledge_dir), kit.default_property, TopicFinder()))
    return Capability(create_router())
