"""Questions about the stay, answered from the property's knowledge file in the guest's language."""

from __future__ import annotations

from dataclasses import dataclass

from actions.booking.quotes import Quotes
from actions.booking.reservations import policy_of
from actions.faq.knowledge import PropertyKnowledge
from actions.faq.topics import TopicFinder
from actions.services import Services
from bot import Choice, Context, Outcome, Router
from bot.core.buttons import button_payload

MENU_TOPICS = ("checkin", "breakfast", "parking", "pets", "wifi", "address", "cancellation_policy")


@dataclass(frozen=True, slots=True)
class Faq:
    properties: dict[str, PropertyKnowledge]
    """Replaced per property while serving (``replace``): a setting saved in the console."""
    default_property: str
    topics: TopicFinder

    def replace(self, knowledge: PropertyKnowledge) -> None:
        """Answer from ``knowledge`` for its property from the next question on."""
        self.properties[knowledge.slug] = knowledge

    def property_of(self, context: Context[Services]) -> PropertyKnowledge:
        slug = context.session.data.get("property", self.default_property)
        return self.properties.get(slug) or self.properties[self.default_property]


async def answer_question(context: Context[Services]) -> list[Outcome]:
    """An answer to each question the message asks, in the order asked (the topics menu when
    none is known)."""
    faq = context.services.get(Faq)
    knowledge = faq.property_of(context)
    topic = context.parse.entities.get("topic")
    topics = [str(topic)] if topic is not None else []
    if not topics and context.message.text:
        topics = faq.topics.topics_in(context.message.text, context.locale)
    known = [name for name in topics if name in faq.topics.topics]
    if not known:
        choices = tuple(
            Choice(f"topic_{name}", payload=button_payload("faq", topic=name))
            for name in MENU_TOPICS
        )
        return [Outcome("faq/topics", {"property": knowledge.name}, choices)]
    return [await _answer_topic(context, knowledge, name) for name in known]


async def _answer_topic(
    context: Context[Services], knowledge: PropertyKnowledge, topic: str
) -> Outcome:
    if topic == "cancellation_policy":
        place = await context.services.get(Quotes).property_by_slug(knowledge.slug)
        if place is None:
            menu = (Choice("menu_human", payload=button_payload("human")),)
            return Outcome("faq/unknown", {"property": knowledge.name}, menu)
        policy = policy_of(place)  # the same policy that cancellations apply
        return Outcome(
            "faq/cancellation_policy",
            {
                "property": knowledge.name,
                "free_days": policy.free_until_days,
                "partial_days": policy.partial_until_days,
                "partial_percent": policy.partial_refund_percent,
            },
        )
    answer = knowledge.answer(topic, context.locale)
    if answer is None:
        return Outcome(
            "faq/unknown",
            {"property": knowledge.name},
            (Choice("menu_human", payload=button_payload("human")),),
        )
    choices: tuple[Choice, ...] = ()
    if topic == "address" and knowledge.map_url:
        choices = (Choice("open_map", url=knowledge.map_url),)
    return Outcome("faq/answer", {"answer": answer}, choices)


def create_router() -> Router[Services]:
    router: Router[Services] = Router("faq")
    router.intent("faq")(answer_question)
    return router
