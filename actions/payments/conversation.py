"""Payments in chat: the guest's ``pay`` (a link for their reservation, from a gateway they
choose), ``cancel`` (the policy's terms, then the cancellation and its refund), ``refund``
(status, and a request with a reason) and the staff's decisions from any channel
(``refund_approve``, ``refund_deny``, ``refund_flagged``, kept for staff roles: a guest pressing
a forwarded button is refused by the dispatcher)."""

from __future__ import annotations

from typing import Any

from actions.booking.conversation import (
    BOOK_AGAIN,
    MENU_BOOK,
    guest_actor,
    reservation_facts,
    reservation_in_question,
)
from actions.booking.errors import BookingError, HoldExpired
from actions.booking.reservations import Reservations
from actions.booking.states import ACTIVE, CONFIRMED
from actions.payments.gateway import GatewayError
from actions.payments.offer import cancel_with_refund, cancelled, payment_offer
from actions.payments.refunds import Refunds
from actions.payments.service import PaymentService
from actions.services import Services
from bot import Choice, Context, Form, Outcome, Router, Slot
from bot.core.buttons import button_payload
from bot.core.forms import text_answer
from bot.core.types import STAFF
from bot.outbound.media import MediaLibrary

Ctx = Context[Services]
DENIAL_REASONS = ("outside_policy", "no_show", "already_refunded")
MAX_NOTE_CHARS = 500


async def send_payment_link(context: Ctx) -> Outcome | list[Outcome]:
    reservation = await reservation_in_question(context, states=ACTIVE)
    if reservation is None:
        return Outcome("booking/nothing_to_pay", {}, (MENU_BOOK,))
    try:
        reservation = await context.services.get(Reservations).begin_payment(
            reservation.code, guest_actor(context)
        )
    except HoldExpired:
        return Outcome(
            "booking/hold_expired",
            {"code": reservation.code},
            (BOOK_AGAIN,),
        )
    try:
        return await payment_offer(
            context.services.get(PaymentService),
            context.services.get(MediaLibrary),
            reservation,
            context.locale,
            context.received_at,
            context.parse.entities.get("gateway"),
        )
    except GatewayError:
        retry = Choice("pay_now", payload=button_payload("pay", code=reservation.code))
        facts = reservation_facts(reservation, context.locale, context.received_at)
        return Outcome("payments/gateway_unavailable", facts, (retry,))


async def refund_status(context: Ctx) -> Outcome:
    """The guest's refunds and how each stands; a button to ask for one where money is left."""
    services = context.services
    mine = await services.get(Reservations).reservations_for(
        context.message.channel, context.message.conversation_id
    )
    refunds = await services.get(Refunds).of_reservations([r.code for r in mine])
    items = [
        {
            "code": r.reservation_code,
            "amount": r.amount,
            "currency": r.currency,
            "state": r.state,
            "reason": r.decision_note,
        }
        for r in refunds
    ]
    choices = []
    for reservation in mine:
        found = await services.get(Refunds).refundable(reservation.code)
        if found is not None and found[1] > 0:
            payload = button_payload("refund_request", code=reservation.code)
            choices.append(Choice("request_refund", payload, values={"code": reservation.code}))
    return Outcome("payments/refund_status", {"items": items}, tuple(choices[:3]))


def which_reservation(context: Ctx, asked: bool) -> str | None:
    code = context.parse.entities.get("code") or context.parse.entities.get("booking_code")
    return str(code).upper() if code else None


async def refundable_reservation(context: Ctx, value: Any, values: Any) -> str | None:
    mine = await context.services.get(Reservations).reservations_for(
        context.message.channel, context.message.conversation_id
    )
    if not any(r.code == value for r in mine):
        return "payments/nothing_to_refund"
    found = await context.services.get(Refunds).refundable(str(value))
    return None if found is not None and found[1] > 0 else "payments/nothing_to_refund"


def valid_note(context: Ctx, value: Any, values: Any) -> str | None:
    return None if 3 <= len(str(value)) <= MAX_NOTE_CHARS else "payments/ask_refund_reason"


async def request_refund(context: Ctx, values: dict[str, Any]) -> Outcome:
    refund = await context.services.get(Refunds).request(
        values["code"], None, "guest_request", guest_actor(context), values["reason"]
    )
    if refund is None:
        return Outcome("payments/nothing_to_refund")
    return Outcome("payments/refund_request_sent", {"code": refund.reservation_code})


REFUND_FORM: Form[Services] = Form(
    name="refund_request",
    slots=(
        Slot("code", "payments/nothing_to_refund", which_reservation, refundable_reservation),
        Slot("reason", "payments/ask_refund_reason", text_answer, valid_note, free_text=True),
    ),
    complete=request_refund,
    interruptions=frozenset({"faq", "help", "human"}),
)


async def approve(context: Ctx) -> Outcome:
    refund_id = context.record_id
    result = (
        await context.services.get(Refunds).approve(refund_id, context.staff_actor)
        if refund_id
        else "unknown"
    )
    return Outcome("payments/staff_decided", {"id": refund_id, "result": result})


async def deny(context: Ctx) -> Outcome:
    refund_id = context.record_id
    reason = context.parse.entities.get("reason")
    refund = await context.services.get(Refunds).get(refund_id) if refund_id else None
    if refund is None or refund.state != "requested":
        result = "unknown" if refund is None else "decided"
        return Outcome("payments/staff_decided", {"id": refund_id, "result": result})
    if reason not in DENIAL_REASONS:
        choices = tuple(
            Choice(f"deny_{code}", payload=button_payload("refund_deny", id=refund_id, reason=code))
            for code in DENIAL_REASONS
        )
        return Outcome("payments/staff_deny_why", {"id": refund_id}, choices)
    result = await context.services.get(Refunds).deny(refund_id, context.staff_actor, str(reason))
    return Outcome("payments/staff_decided", {"id": refund_id, "result": result})


async def refund_flagged(context: Ctx) -> Outcome:
    """A payment whose amount did not match: all of it back to the payer, on staff's word."""
    payment_id = context.record_id
    refunds = context.services.get(Refunds)
    refund = await refunds.refund_payment(payment_id, context.staff_actor) if payment_id else None
    result = refund.state if refund is not None else "unknown"
    return Outcome("payments/staff_decided", {"id": refund.id if refund else 0, "result": result})


async def start_cancellation(context: Ctx) -> Outcome:
    reservation = await reservation_in_question(context, states=(*ACTIVE, CONFIRMED))
    if reservation is None:
        return Outcome("booking/nothing_to_cancel")
    terms = await context.services.get(Reservations).cancellation_terms(reservation.code)
    context.session.data["cancelling"] = reservation.code
    return Outcome(
        "booking/cancel_terms",
        {
            **reservation_facts(reservation, context.locale, context.received_at),
            "refund": terms.refund,
            "refund_percent": terms.refund_percent,
            "paid": reservation.state == CONFIRMED,
        },
        (
            Choice("confirm_cancel", payload=button_payload("cancel", confirm=reservation.code)),
            Choice("keep_booking", payload=button_payload("my_bookings")),
        ),
    )


async def cancel(context: Ctx) -> Outcome:
    confirmed = context.parse.entities.get("confirm")
    if not confirmed or confirmed != context.session.data.get("cancelling"):
        return await start_cancellation(context)
    context.session.data.pop("cancelling", None)
    try:
        done, refund = await cancel_with_refund(
            context.services.get(Reservations),
            context.services.get(Refunds),
            str(confirmed),
            guest_actor(context),
        )
    except BookingError:
        return Outcome("booking/not_possible")
    return cancelled(done, refund, context.locale, context.received_at)


def create_router() -> Router[Services]:
    router: Router[Services] = Router("payments")
    router.intent("pay")(send_payment_link)
    router.intent("cancel")(cancel)
    router.intent("refund")(refund_status)
    router.form(REFUND_FORM, started_by="refund_request")
    router.intent("refund_approve", roles=STAFF)(approve)
    router.intent("refund_deny", roles=STAFF)(deny)
    router.intent("refund_flagged", roles=STAFF)(refund_flagged)
    return router
