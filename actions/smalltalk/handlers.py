"""Greetings, thanks, goodbyes, the help menu and the fallback."""

from __future__ import annotations

from actions.services import Services
from bot import Context, Outcome, Router
from bot.types import Choice

router: Router[Services] = Router("smalltalk")

MENU = (
    Choice("menu_book", payload="intent:book"),
    Choice("menu_faq", payload="intent:faq"),
    Choice("menu_my_bookings", payload="intent:my_bookings"),
    Choice("menu_human", payload="intent:human"),
)


@router.intent("greet")
async def greet(context: Context[Services]) -> Outcome:
    return Outcome("smalltalk/greet", {"brand": context.services.brand}, MENU)


@router.intent("goodbye")
async def goodbye(context: Context[Services]) -> Outcome:
    return Outcome("smalltalk/goodbye")


@router.intent("thanks")
async def thanks(context: Context[Services]) -> Outcome:
    return Outcome("smalltalk/thanks")


@router.intent("help")
async def help_menu(context: Context[Services]) -> Outcome:
    return Outcome("smalltalk/help", {"brand": context.services.brand}, MENU)


@router.intent("unknown_button")
async def unknown_button(context: Context[Services]) -> Outcome:
    return Outcome("smalltalk/unknown_button", {}, MENU)


@router.fallback
async def fallback(context: Context[Services]) -> Outcome:
    return Outcome("smalltalk/fallback", {}, MENU)
