"""Greetings, thanks, goodbyes, the help menu and the fallback."""

from __future__ import annotations

from actions.services import Services
from bot import Context, Outcome, Router
from bot.core.buttons import button_payload
from bot.core.goals import GoalEvents
from bot.core.types import Choice

MENU = (
    Choice("menu_book", payload=button_payload("book")),
    Choice("menu_faq", payload=button_payload("faq")),
    Choice("menu_my_bookings", payload=button_payload("my_bookings")),
    Choice("menu_human", payload=button_payload("human")),
)


async def greet(context: Context[Services]) -> Outcome:
    return Outcome("smalltalk/greet", {"brand": context.services.brand}, MENU)


async def goodbye(context: Context[Services]) -> Outcome:
    return Outcome("smalltalk/goodbye")


async def thanks(context: Context[Services]) -> Outcome:
    return Outcome("smalltalk/thanks")


async def help_menu(context: Context[Services]) -> Outcome:
    return Outcome("smalltalk/help", {"brand": context.services.brand}, MENU)


async def unknown_button(context: Context[Services]) -> Outcome:
    return Outcome("smalltalk/unknown_button", {}, MENU)


PERSONA = "persona"
"""The ``topic`` entity of an out-of-scope question about the assistant itself."""


async def out_of_scope(context: Context[Services]) -> Outcome:
    if context.parse.entities.get("topic") == PERSONA:
        # "Are you a robot?" deserves a straight answer, not a refusal and a menu.
        return Outcome("smalltalk/persona", {"brand": context.services.brand})
    misunderstood(context)
    return Outcome("smalltalk/out_of_scope", {}, MENU)


async def fallback(context: Context[Services]) -> Outcome:
    misunderstood(context)
    return Outcome("smalltalk/fallback", {}, MENU)


def misunderstood(context: Context[Services]) -> None:
    """The ``understood`` goal of the experiments fails when the bot could not help."""
    message = context.message
    context.services.get(GoalEvents).note(
        message.channel, message.conversation_id, "out_of_scope", context.received_at
    )


def create_router() -> Router[Services]:
    router: Router[Services] = Router("smalltalk")
    router.intent("greet")(greet)
    router.intent("goodbye")(goodbye)
    router.intent("thanks")(thanks)
    router.intent("help")(help_menu)
    router.intent("unknown_button")(unknown_button)
    router.intent("out_of_scope")(out_of_scope)
    router.fallback(fallback)
    return router
