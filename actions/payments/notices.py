"""Messages the payments send on their own: to the guest's chat and to the staff's channel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from actions.booking.conversation import reservation_facts
from actions.booking.tables import Reservation
from bot.core.buttons import button_payload
from bot.core.types import Address, Choice, Outcome
from bot.outbound.proactive import Notifier

log = structlog.get_logger("rsv360.payments")


class Notices:
    def __init__(self, notifier: Notifier, staff: Address | None, staff_locale: str) -> None:
        self._notifier = notifier
        self._staff = staff
        self._staff_locale = staff_locale

    async def guest(
        self,
        reservation: Reservation,
        template: str,
        extra: Mapping[str, Any] | None = None,
        choices: tuple[Choice, ...] = (),
    ) -> None:
        """Tell the conversation the reservation was made in; a failure is only logged: what
        it reports has happened anyway."""
        facts = {**reservation_facts(reservation, reservation.locale), **(extra or {})}
        address = Address(reservation.channel, reservation.conversation_id)
        try:
            await self._notifier.notify(
                address, reservation.locale, [Outcome(template, facts, choices)]
            )
        except Exception:
            log.exception("notice_failed", template=template)

    async def staff(self, outcome: Outcome) -> None:
        """An alert for the staff channel (RSV_STAFF_ALERTS); logged when none is configured."""
        if self._staff is None:
            log.warning("staff_alert_unrouted", template=outcome.template)
            return
        try:
            await self._notifier.notify(self._staff, self._staff_locale, [outcome])
        except Exception:
            log.exception("staff_alert_failed", template=outcome.template)


def pay_again(code: str) -> Choice:
    return Choice("new_payment_link", payload=button_payload("pay", code=code))
