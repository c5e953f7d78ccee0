"""What a guest is sent to pay a reservation and how it is cancelled with its refund, shared by
the chat (``Pagar agora``, ``quero cancelar``) and the staff console's Bookings page, so both
give the same link, the same terms and the same refund."""

from __future__ import annotations

from datetime import datetime

from actions.booking.conversation import reservation_facts
from actions.booking.reservations import Cancellation, Reservations
from actions.booking.tables import Reservation
from actions.payments.refunds import Refunds
from actions.payments.service import PaymentService
from actions.payments.tables import Refund
from bot.core.buttons import button_payload
from bot.core.types import Choice, Outcome
from bot.outbound.media import MediaLibrary


async def payment_offer(
    payments: PaymentService,
    media: MediaLibrary,
    reservation: Reservation,
    locale: str,
    now: datetime,
    chosen: str | None = None,
) -> list[Outcome]:
    """The gateways to choose from when several are offered and none is ``chosen``; else the
    link of the one (with Pix's code and QR image when it has them). Raises ``GatewayError``."""
    facts = reservation_facts(reservation, locale, now)
    offered = payments.choices_for(reservation)
    if chosen not in offered:
        if len(offered) > 1:  # the guest picks; the payload names the reservation and gateway
            choices = tuple(
                Choice(
                    f"gateway_{name}", button_payload("pay", code=reservation.code, gateway=name)
                )
                for name in offered
            )
            return [Outcome("payments/choose_gateway", facts, choices)]
        chosen = offered[0]
    link = await payments.link_for(reservation, str(chosen))
    outcomes = [Outcome("booking/payment_link", facts, (Choice("pay_link", url=link.url),))]
    if link.pix_code:
        image = None
        if link.pix_qr_png:  # the alt text names the brand and the code, in no language
            alt = f"Pix · {reservation.code}"
            image = await media.publish(link.pix_qr_png, "image/png", alt)
        pix = {**facts, "pix_code": link.pix_code}
        outcomes.append(Outcome("payments/pix", pix, image=image, copy_text=link.pix_code))
    return outcomes


async def cancel_with_refund(
    reservations: Reservations, refunds: Refunds, code: str, actor: str
) -> tuple[Cancellation, Refund | None]:
    """Cancel by the property's policy and ask for the refund it gives. Raises
    ``BookingError`` when the reservation cannot be cancelled (already cancelled or expired):
    a second cancellation never refunds again."""
    done = await reservations.cancel(code, actor)
    # The refund the policy gives goes back through the gateway that took the money; a large
    # one waits for the staff, and the guest hears each step from the refund desk.
    refund = None
    if done.refund > 0:
        refund = await refunds.request(done.reservation.code, done.refund, "cancellation", actor)
    return done, refund


def cancelled(done: Cancellation, refund: Refund | None, locale: str, now: datetime) -> Outcome:
    """What the guest is told of the cancellation and its refund."""
    return Outcome(
        "booking/cancelled",
        {
            **reservation_facts(done.reservation, locale, now),
            "refund": done.refund,
            "refund_state": refund.state if refund else None,
        },
    )
