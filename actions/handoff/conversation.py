"""A guest asks for a person; staff take the conversation over and give it back to the bot."""

from __future__ import annotations

from actions.handoff.desk import HandoffDesk
from actions.services import Services
from bot import Choice, Context, Outcome, Router
from bot.core.buttons import button_payload
from bot.core.goals import GoalEvents
from bot.core.types import STAFF


async def request_person(context: Context[Services]) -> Outcome:
    urgent = bool(context.parse.entities.get("urgent"))  # pressed on the bot's own offer
    opened = await context.services.get(HandoffDesk).request(
        context.message, context.locale, context.session.history, urgent=urgent
    )
    message = context.message
    await context.services.get(GoalEvents).record(
        message.channel, message.conversation_id, "handoff", context.received_at
    )
    return Outcome("handoff/requested" if opened else "handoff/already_requested")


async def offer_person(context: Context[Services]) -> Outcome:
    """A person offered at once (``escalation``): the button opens an urgent handoff."""
    talk = Choice("talk_to_person_now", payload=button_payload("human", urgent=1))
    reason = str(context.parse.entities.get("reason", "misunderstood"))
    return Outcome("handoff/offer", {"reason": reason}, (talk,))


async def take_over(context: Context[Services]) -> Outcome:
    ticket = context.parse.entities.get("ticket")
    if not isinstance(ticket, str):
        return Outcome("handoff/unknown_ticket")
    return await context.services.get(HandoffDesk).take(context.message, ticket)


async def return_to_bot(context: Context[Services]) -> Outcome:
    ticket = context.parse.entities.get("ticket")
    if not isinstance(ticket, str):
        return Outcome("handoff/unknown_ticket")
    return await context.services.get(HandoffDesk).release(context.message, ticket)


def create_router() -> Router[Services]:
    router: Router[Services] = Router("handoff")
    router.intent("human")(request_person)
    router.intent("offer_person")(offer_person)
    router.intent("handoff_take", roles=STAFF)(take_over)
    router.intent("handoff_release", roles=STAFF)(return_to_bot)
    return router
