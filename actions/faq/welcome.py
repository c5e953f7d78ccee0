"""The greeting a chat window shows when it opens: once per conversation, with the property's
own quick replies (``welcome`` in its knowledge file)."""

from __future__ import annotations

from actions.faq.conversation import Faq
from actions.services import Services
from bot import Choice, Context, Outcome
from bot.core.buttons import button_payload

DEFAULT_BUTTONS = ("book", "prices", "my_bookings", "human")
WELCOMED = "welcomed"
"""Session flag: this conversation was greeted (a reload or a second tab is not greeted again)."""


def _button(kind: str, slug: str) -> Choice | None:
    payloads = {
        "book": button_payload("book", property=slug),
        "prices": button_payload("book", property=slug),  # prices come with the dates asked
        "my_bookings": button_payload("my_bookings"),
        "human": button_payload("human"),
        "questions": button_payload("faq"),
    }
    payload = payloads.get(kind)
    return Choice(f"welcome_{kind}", payload=payload) if payload else None


async def welcome(context: Context[Services]) -> list[Outcome]:
    if context.session.data.get(WELCOMED):
        return []
    context.session.data[WELCOMED] = True
    faq = context.services.get(Faq)
    slug = context.parse.entities.get("property")
    knowledge = faq.properties.get(str(slug)) if slug else None
    knowledge = knowledge or faq.property_of(context)
    if slug and str(slug) in faq.properties:
        context.session.data.setdefault("property", knowledge.slug)
    kinds = knowledge.welcome or DEFAULT_BUTTONS
    choices = tuple(choice for kind in kinds if (choice := _button(kind, knowledge.slug)))
    return [Outcome("faq/welcome", {"property": knowledge.name}, choices)]
