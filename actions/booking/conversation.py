"""Booking in chat: the booking form and "my bookings" (the payment link and cancellation,
which moves money back, are ``actions.payments.conversation``'s)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from actions.booking.errors import BookingError, StayTooShort, Unavailable
from actions.booking.guest_details import not_a_name, suggested_email
from actions.booking.holds import Guest, Holds
from actions.booking.notes import StayNotes
from actions.booking.quotes import Quotes
from actions.booking.reservations import Reservations
from actions.booking.tables import Reservation
from actions.services import Services
from bot import Choice, Context, Form, Outcome, Router, Slot
from bot.core.buttons import button_payload
from bot.core.forms import chosen_value, value_choice
from bot.core.goals import GoalEvents
from bot.core.text import has_control, one_line
from intents.dates import names_a_month, stay_dates
from intents.guests import guests
from intents.text import EMAIL

MAX_NIGHTS = 30
NAME = re.compile(r"^[^\d@#<>{}\[\]_=+*/\\|]{2,80}$")
GUEST_CHOICES = ("1-0", "2-0", "2-1", "2-2", "4-0")
Ctx = Context[Services]
BOOK_AGAIN = Choice("book_again", payload=button_payload("book"))
MENU_BOOK = Choice("menu_book", payload=button_payload("book"))


# -- the booking form ------------------------------------------------------------------------


async def which_property(context: Ctx, asked: bool) -> Any | None:
    slug = context.parse.entities.get("property") or chosen_value(context)
    if slug:
        return slug
    text = context.message.text or ""
    if not text or not (asked or context.parse.intent == "book"):
        return None
    found = await context.services.get(Quotes).find_properties(text)
    if len(found) == 1:
        return found[0].slug
    if len(found) > 1 and asked:
        return {"ambiguous": [place.slug for place in found]}
    return context.session.data.get("property") if not asked else None


async def known_property(context: Ctx, value: Any, values: Any) -> Outcome | str | None:
    if isinstance(value, dict):
        places = [
            await context.services.get(Quotes).property_by_slug(slug) for slug in value["ambiguous"]
        ]
        choices = tuple(value_choice("place", p.slug, name=p.name) for p in places if p)
        return Outcome("booking/which_property", {}, choices)
    if await context.services.get(Quotes).property_by_slug(str(value)) is None:
        return "booking/unknown_property"
    return None


async def ask_property(context: Ctx, values: Any) -> Outcome:
    places = await context.services.get(Quotes).properties()
    choices = tuple(value_choice("place", p.slug, name=f"{p.name} · {p.city}") for p in places)
    return Outcome("booking/ask_property", {}, choices)


def stay(context: Ctx, asked: bool) -> Any | None:
    """Check-in and check-out from the entities, a button, or any dates the text names."""
    entities = dict(context.parse.entities)
    today = context.services.today(context.session.data.get("timezone", "America/Sao_Paulo"))
    text = context.message.text or ""
    earlier = context.session.form.values.get("dates") if context.session.form else None
    if "checkin" not in entities and text and (asked or context.session.form):
        reference = today
        if earlier and not names_a_month(text, context.locale):
            # "na verdade dia 21" means the 21st near the stay being booked, not of this month
            near = date.fromisoformat(earlier["checkin"]) - timedelta(days=15)
            reference = max(today, near)
        entities.update(stay_dates(text, context.locale, reference).as_entities())
    if "checkin" not in entities:
        return None
    check_in = date.fromisoformat(str(entities["checkin"]))
    if "checkout" in entities:
        check_out = date.fromisoformat(str(entities["checkout"]))
    elif "nights" in entities:
        check_out = check_in + timedelta(days=int(entities["nights"]))
    elif earlier and "checkout" in earlier:  # a correction keeps the stay's length
        length = date.fromisoformat(earlier["checkout"]) - date.fromisoformat(earlier["checkin"])
        check_out = check_in + length
    else:
        return {"checkin": check_in.isoformat()}
    found = {"checkin": check_in.isoformat(), "checkout": check_out.isoformat()}
    if entities.get("occasion"):  # "réveillon": the reply says which stay it proposes
        found["occasion"] = str(entities["occasion"])
    return found


async def sensible_stay(context: Ctx, value: Any, values: Any) -> Outcome | str | None:
    if "checkout" not in value:
        nights = tuple(
            Choice(
                "nights",
                payload=button_payload("book", checkin=value["checkin"], nights=n),
                values={"count": n},
            )
            for n in (1, 2, 3, 4, 7)
        )
        return Outcome("booking/how_many_nights", {"checkin": value["checkin"]}, nights)
    check_in, check_out = (
        date.fromisoformat(value["checkin"]),
        date.fromisoformat(value["checkout"]),
    )
    if check_in < context.services.today("America/Sao_Paulo"):
        return "booking/date_in_past"
    if not 0 < (check_out - check_in).days <= MAX_NIGHTS:
        return Outcome("booking/stay_length", {"max_nights": MAX_NIGHTS})
    return None


def party(context: Ctx, asked: bool) -> Any | None:
    entities = context.parse.entities
    if "adults" in entities:
        return {"adults": int(entities["adults"]), "children": int(entities.get("children", 0))}
    chosen = chosen_value(context)
    if chosen and re.fullmatch(r"\d{1,2}-\d{1,2}", chosen):
        adults, children = chosen.split("-")
        return {"adults": int(adults), "children": int(children)}
    text = context.message.text or ""
    counted = guests(text, context.locale)
    if counted.adults:
        return {"adults": counted.adults, "children": counted.children or 0}
    if asked and text.strip().isdigit():
        return {"adults": int(text.strip()), "children": 0}
    return None


def sensible_party(context: Ctx, value: Any, values: Any) -> str | None:
    return (
        None
        if 1 <= value["adults"] <= 20 and 0 <= value["children"] <= 10
        else "booking/party_size"
    )


def guest_choices(context: Ctx, values: Any) -> list[Choice]:
    return [value_choice(f"party_{key.replace('-', '_')}", key) for key in GUEST_CHOICES]


def chosen_product(context: Ctx, asked: bool) -> Any | None:
    value = chosen_value(context)
    return int(value) if asked and value and value.isdigit() else None


async def bookable(context: Ctx, value: Any, values: Any) -> Outcome | None:
    offers = await _offers(context, values)
    if any(offer.product.id == value for offer in offers):
        return None
    return await offers_prompt(context, values)


async def offers_prompt(context: Ctx, values: Any) -> Outcome:
    """Availability and prices for the stay, or the nearest alternatives when nothing is free."""
    quotes = context.services.get(Quotes)
    place = await quotes.property_by_slug(values["property"])
    assert place is not None
    dates, party_ = values["dates"], values["guests"]
    check_in, check_out = (
        date.fromisoformat(dates["checkin"]),
        date.fromisoformat(dates["checkout"]),
    )
    try:
        offers = await _offers(context, values)
    except StayTooShort as short:
        longer = await quotes.alternatives(
            place.id, check_in, check_out, party_["adults"], party_["children"], short.required
        )
        facts = {"required": short.required, "choices_offered": bool(longer), **dates}
        return Outcome("booking/minimum_stay", facts, _alternative_choices(longer))
    facts = {
        "property": place.name,
        "checkin": dates["checkin"],
        "checkout": dates["checkout"],
        "occasion": dates.get("occasion"),
        "nights": _nights(dates),
        **party_,
    }
    if offers:
        lines = [
            {
                "name": o.product.name(context.locale),
                "total": o.quote.total,
                "currency": o.quote.currency,
                "taxes": o.quote.taxes,
                "fees": o.quote.fees,
            }
            for o in offers
        ]
        choices = tuple(
            value_choice(
                "room_option",
                str(o.product.id),
                name=o.product.name(context.locale),
                total=o.quote.total,
                currency=o.quote.currency,
            )
            for o in offers
        )
        change_dates = Choice("change_dates", payload="form:change:dates")
        notes = await context.services.get(StayNotes).lines(
            place.slug, check_in, check_out, context.locale
        )
        values = {**facts, "offers": lines, "notes": notes}
        return Outcome("booking/offers", values, (*choices, change_dates))
    shifted = await quotes.alternatives(
        place.id, check_in, check_out, party_["adults"], party_["children"]
    )
    return Outcome("booking/unavailable", facts, _alternative_choices(shifted))


def _alternative_choices(stays: list[tuple[date, date, Any]]) -> tuple[Choice, ...]:
    """A button per stay that works, with its length and its cheapest price."""
    return tuple(
        Choice(
            "alternative_dates",
            payload=button_payload("book", checkin=start.isoformat(), checkout=end.isoformat()),
            values={
                "checkin": start.isoformat(),
                "checkout": end.isoformat(),
                "nights": (end - start).days,
                "total": offer.quote.total,
                "currency": offer.quote.currency,
            },
        )
        for start, end, offer in stays
    )


def guest_name(context: Ctx, asked: bool) -> str | None:
    text = one_line(context.message.text or "")
    return text if asked and text else None


def valid_name(context: Ctx, value: Any, values: Any) -> str | None:
    if has_control(str(value)):  # PostgreSQL cannot store NUL; staff would not see the rest
        return "booking/invalid_name_characters"
    if not_a_name(str(value), context.locale):  # "sim, pode reservar" is not who is coming
        return "booking/not_a_name"
    return (
        None
        if NAME.fullmatch(str(value)) and any(c.isalpha() for c in value)
        else "booking/invalid_name"
    )


def guest_email(context: Ctx, asked: bool) -> str | None:
    email = context.parse.entities.get("email")
    if email:
        return str(email)
    chosen = chosen_value(context)
    if asked and chosen:  # the suggested address, or the one typed, confirmed by a button
        return chosen
    text = context.message.text or ""
    if not asked or not text.strip():
        return None
    found = EMAIL.search(text)
    return found.group(0).lower() if found else one_line(text)


def valid_email(context: Ctx, value: Any, values: Any) -> Outcome | str | None:
    email = str(value)
    if not (EMAIL.fullmatch(email) and len(email) <= 254):
        return "booking/invalid_email"
    suggestion = None if chosen_value(context) else suggested_email(email)
    if suggestion is None:
        return None
    choices = (
        value_choice("email_suggestion", suggestion, email=suggestion),
        value_choice("keep_email", email, email=email),
    )
    return Outcome("booking/email_typo", {"email": email, "suggestion": suggestion}, choices)


async def summary(context: Ctx, values: Any) -> Outcome:
    quotes = context.services.get(Quotes)
    dates, party_ = values["dates"], values["guests"]
    offer = await quotes.quote(
        values["product"],
        date.fromisoformat(dates["checkin"]),
        date.fromisoformat(dates["checkout"]),
        party_["adults"],
        party_["children"],
    )
    place = await quotes.property_by_slug(values["property"])
    assert place is not None
    return Outcome(
        "booking/summary",
        {
            "property": place.name,
            "room": offer.product.name(context.locale),
            "checkin": dates["checkin"],
            "checkout": dates["checkout"],
            "nights": _nights(dates),
            **party_,
            "name": values["name"],
            "email": values["email"],
            "subtotal": offer.quote.subtotal,
            "taxes": offer.quote.taxes,
            "fees": offer.quote.fees,
            "total": offer.quote.total,
            "currency": offer.quote.currency,
        },
    )


async def place_hold(context: Ctx, values: dict[str, Any]) -> list[Outcome]:
    dates, party_ = values["dates"], values["guests"]
    try:
        reservation = await context.services.get(Holds).hold(
            values["product"],
            date.fromisoformat(dates["checkin"]),
            date.fromisoformat(dates["checkout"]),
            party_["adults"],
            party_["children"],
            Guest(values["name"], values["email"]),
            context.message.channel,
            context.message.conversation_id,
            context.locale,
            actor=guest_actor(context),
        )
    except Unavailable:
        return [Outcome("booking/taken", {}, (BOOK_AGAIN,))]
    except BookingError:
        return [Outcome("booking/not_possible", {}, (BOOK_AGAIN,))]
    context.session.data["property"] = values["property"]
    message = context.message
    await context.services.get(GoalEvents).record(
        message.channel, message.conversation_id, "booking_held", context.received_at
    )
    pay_now = Choice("pay_now", payload=button_payload("pay", code=reservation.code))
    return [
        Outcome(
            "booking/held",
            reservation_facts(reservation, context.locale, context.received_at),
            (pay_now,),
        )
    ]


BOOKING_FORM: Form[Services] = Form(
    name="booking",
    slots=(
        Slot(
            "property", "booking/ask_property", which_property, known_property, prompt=ask_property
        ),
        Slot("dates", "booking/ask_dates", stay, sensible_stay),
        Slot("guests", "booking/ask_guests", party, sensible_party, choices=guest_choices),
        Slot(
            "product",
            "booking/offers",
            chosen_product,
            bookable,
            prompt=offers_prompt,
            depends_on=("property", "dates", "guests"),
        ),
        Slot("name", "booking/ask_name", guest_name, valid_name, free_text=True),
        Slot("email", "booking/ask_email", guest_email, valid_email),
    ),
    complete=place_hold,
    confirm=summary,
    interruptions=frozenset({"faq", "help", "human", "thanks", "offer_person"}),
)


# -- looking up and cancelling ---------------------------------------------------------


async def show_bookings(context: Ctx) -> Outcome:
    reservations = context.services.get(Reservations)
    code, email = context.parse.entities.get("booking_code"), context.parse.entities.get("email")
    if code and email:
        found = await reservations.find(str(code), str(email))
        if found is None:
            return Outcome("booking/lookup_failed")
        return Outcome(
            "booking/details", reservation_facts(found, context.locale, context.received_at)
        )
    mine = await reservations.reservations_for(
        context.message.channel, context.message.conversation_id
    )
    if code:
        match = next((r for r in mine if r.code == str(code).upper()), None)
        if match is not None:
            return Outcome(
                "booking/details", reservation_facts(match, context.locale, context.received_at)
            )
        return Outcome("booking/need_email", {"code": str(code).upper()})
    if not mine:
        return Outcome("booking/none_found", {}, (MENU_BOOK,))
    items = [reservation_facts(r, context.locale, context.received_at) for r in mine]
    choices = tuple(
        Choice(
            "details",
            payload=button_payload("my_bookings", booking_code=r.code),
            values={"code": r.code},
        )
        for r in mine[:5]
    )
    return Outcome("booking/list", {"items": items}, choices)


def deep_link(property_slug: str) -> str:
    """The button payload a link into the chat opens (Telegram's ``/start <parameter>``): the
    booking of that property."""
    return button_payload("book", property=property_slug)


def create_router() -> Router[Services]:
    router: Router[Services] = Router("booking")
    router.form(BOOKING_FORM, started_by="book")
    router.intent("my_bookings")(show_bookings)
    return router


# -- helpers -----------------------------------------------------------------------------------


async def _offers(context: Ctx, values: Any) -> list[Any]:
    quotes = context.services.get(Quotes)
    place = await quotes.property_by_slug(values["property"])
    if place is None:
        return []
    dates, party_ = values["dates"], values["guests"]
    return await quotes.offers(
        place.id,
        date.fromisoformat(dates["checkin"]),
        date.fromisoformat(dates["checkout"]),
        party_["adults"],
        party_["children"],
    )


async def reservation_in_question(context: Ctx, states: tuple[str, ...]) -> Reservation | None:
    """The reservation a guest means: the code they gave if it is theirs, else their latest."""
    mine = await context.services.get(Reservations).reservations_for(
        context.message.channel, context.message.conversation_id
    )
    code = context.parse.entities.get("code") or context.parse.entities.get("booking_code")
    if code:
        return next((r for r in mine if r.code == str(code).upper() and r.state in states), None)
    candidates = sorted((r for r in mine if r.state in states), key=lambda r: r.created_at)
    return candidates[-1] if candidates else None


def reservation_facts(reservation: Reservation, locale: str, now: datetime) -> dict[str, Any]:
    """What templates show of a reservation, in the guest's locale, as it stands at ``now``."""
    return {
        "code": reservation.code,
        "state": reservation.state,
        "property": reservation.property.name,
        "room": reservation.product.name(locale),
        "checkin": reservation.check_in.isoformat(),
        "checkout": reservation.check_out.isoformat(),
        "nights": (reservation.check_out - reservation.check_in).days,
        "adults": reservation.adults,
        "children": reservation.children,
        "total": reservation.total,
        "currency": reservation.currency,
        "minutes_left": _minutes_left(reservation, now),
    }


def _minutes_left(reservation: Reservation, now: datetime) -> int:
    if reservation.hold_expires_at is None:
        return 0
    expires = reservation.hold_expires_at
    expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
    return max(0, round((expires - now).total_seconds() / 60))


def _nights(dates: dict[str, str]) -> int:
    return (date.fromisoformat(dates["checkout"]) - date.fromisoformat(dates["checkin"])).days


def guest_actor(context: Ctx) -> str:
    """Who the audit trail says acted when a guest changes a reservation."""
    return f"guest:{context.message.channel}"
