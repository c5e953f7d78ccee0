"""Messages the payments send on their own: to the guest's chat, and to the staff as alerts
of type ``payment`` (``actions/alerts``: routed, grouped, stored in the alert history, with the
payment's own buttons next to Acknowledge and Silence).

Each staff alert has a dedupe key per payment or refund, so the same matter told twice is one
alert, and the payments resolve it when the matter is settled in the bot (a refund decided, a
flagged payment refunded): its messages then show it resolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from actions.alerts.desk import AlertDesk
from actions.alerts.model import (
    MAX_DETAILS_CHARS,
    MAX_SUMMARY_CHARS,
    Alert,
    AlertAction,
    Severity,
    clipped,
)
from actions.alerts.wording import Render
from actions.booking.conversation import reservation_facts
from actions.booking.tables import Reservation
from bot.core.buttons import button_payload
from bot.core.clock import Now
from bot.core.types import Address, Choice, Outcome
from bot.outbound.proactive import Notifier

log = structlog.get_logger("rsv360.payments")


def flagged_key(payment_id: int) -> str:
    """A payment whose amount did not match (settled when staff refund it all)."""
    return f"payment:flagged:{payment_id}"


def review_key(refund_id: int) -> str:
    """A refund waiting for the staff's approval (settled when approved or denied)."""
    return f"payment:refund-review:{refund_id}"


def paid_twice_key(payment_id: int) -> str:
    """A second payment of a reservation already paid (settled when its refund is paid)."""
    return f"payment:paid-twice:{payment_id}"


def refund_failed_key(refund_id: int) -> str:
    """A refund the gateway refused: staff refund it by hand, outside the bot."""
    return f"payment:refund-failed:{refund_id}"


class Notices:
    def __init__(
        self,
        notifier: Notifier,
        alerts: AlertDesk | None,
        render: Render,
        staff_locale: str,
        now: Now,
    ) -> None:
        self._notifier = notifier
        self._alerts = alerts
        self._render = render
        self._staff_locale = staff_locale
        self._now = now

    async def guest(
        self,
        reservation: Reservation,
        template: str,
        extra: Mapping[str, Any] | None = None,
        choices: tuple[Choice, ...] = (),
    ) -> None:
        """Tell the conversation the reservation was made in; a failure is only logged: what
        it reports has happened anyway."""
        facts = {**reservation_facts(reservation, reservation.locale, self._now()), **(extra or {})}
        address = Address(reservation.channel, reservation.conversation_id)
        try:
            await self._notifier.notify(
                address, reservation.locale, [Outcome(template, facts, choices)]
            )
        except Exception:
            log.exception("notice_failed", template=template)

    async def staff(self, key: str, level: Severity, outcome: Outcome) -> None:
        """Raise a payment alert worded by ``outcome``'s template (in each destination's
        locale; stored in the staff's), its choices the alert's own buttons. A failure is only
        logged: what it reports has happened anyway."""
        if self._alerts is None:
            log.warning("staff_alert_unrouted", template=outcome.template)
            return
        words = self._render(outcome, self._staff_locale, "plain").text.strip()
        summary, _, details = words.partition("\n")
        alert = Alert(
            "payment",
            level,
            key,
            clipped(summary, MAX_SUMMARY_CHARS),
            clipped(details.strip(), MAX_DETAILS_CHARS),
            source="payments",
            actions=tuple(
                AlertAction(choice.label, choice.payload)
                for choice in outcome.choices
                if choice.payload
            ),
            template=outcome.template,
            facts=dict(outcome.values),
        )
        try:
            await self._alerts.raise_alert(alert)
        except Exception:
            log.exception("staff_alert_failed", template=outcome.template)

    async def settled(self, key: str) -> None:
        """The matter of the alert ``key`` is settled: it resolves (when it fires)."""
        if self._alerts is None:
            return
        try:
            await self._alerts.resolve(key)
        except Exception:
            log.exception("staff_alert_failed", key=key)


def pay_again(code: str) -> Choice:
    return Choice("new_payment_link", payload=button_payload("pay", code=code))
