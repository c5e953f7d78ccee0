"""The guest's word on the bot's own messages ("parar", "stop", "no más", or a button), and
the extras a pre-arrival message offers."""

from __future__ import annotations

from actions.booking.reservations import Reservations
from actions.booking.states import CONFIRMED
from actions.lifecycle.config import MessagesConfig
from actions.lifecycle.consent import Consents
from actions.services import Services
from bot import Context, Outcome, Router
from bot.core.buttons import button_payload
from bot.core.types import Address, Choice

START_AGAIN = Choice("start_messages", payload=button_payload("start_messages"))
OPT_IN = Choice("opt_in_offers", payload=button_payload("start_messages", offers="yes"))

Ctx = Context[Services]


def guest_address(context: Ctx) -> Address:
    return Address(context.message.channel, context.message.conversation_id)


async def stop_messages(context: Ctx) -> Outcome:
    await context.services.get(Consents).stop(guest_address(context))
    return Outcome("lifecycle/stopped", {}, (START_AGAIN,))


async def start_messages(context: Ctx) -> Outcome:
    offers = context.parse.entities.get("offers") == "yes"
    consent = await context.services.get(Consents).start(guest_address(context), offers)
    choices = () if consent.marketing else (OPT_IN,)
    return Outcome("lifecycle/started", {"offers": consent.marketing}, choices)


async def add_extra(context: Ctx) -> Outcome:
    """The guest pressed an extra's button: noted on their reservation for the front desk."""
    code = str(context.parse.entities.get("code", ""))
    wanted = str(context.parse.entities.get("extra", ""))
    reservations = context.services.get(Reservations)
    own = await reservations.reservations_for(
        context.message.channel, context.message.conversation_id
    )
    reservation = next((r for r in own if r.code == code and r.state == CONFIRMED), None)
    config = context.services.get(MessagesConfig)
    place = config.of(reservation.property.slug) if reservation is not None else None
    extra = place.extra(wanted) if place is not None else None
    if reservation is None or place is None or extra is None:
        return Outcome("lifecycle/extra_unavailable")
    await reservations.note(code, f"guest:{context.message.channel}", f"asked for {extra.code}")
    values = {
        "code": code,
        "name": place.text(extra.names, context.locale),
        "price": extra.price,
        "currency": reservation.currency,
    }
    return Outcome("lifecycle/extra_requested", values)


def create_router() -> Router[Services]:
    router: Router[Services] = Router("lifecycle")
    router.intent("stop_messages")(stop_messages)
    router.intent("start_messages")(start_messages)
    router.intent("add_extra")(add_extra)
    return router
