"""What actions can reach besides the message: built once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from actions.alerts.desk import AlertDesk
    from actions.booking.holds import Holds
    from actions.booking.quotes import Quotes
    from actions.booking.reservations import Reservations
    from actions.faq.conversation import Faq
    from actions.forecasts.desk import ForecastDesk
    from actions.handoff.desk import HandoffDesk
    from actions.payments.refunds import Refunds
    from actions.payments.service import PaymentService
    from bot.outbound.media import MediaLibrary


@dataclass(frozen=True, slots=True)
class Services:
    brand: str
    faq: Faq
    quotes: Quotes
    holds: Holds
    reservations: Reservations
    media: MediaLibrary
    today: Callable[[str], date]
    """Today's date in a time zone (properties and conversations have their own)."""
    payments: PaymentService
    refunds: Refunds
    forecasts: ForecastDesk
    handoff: HandoffDesk
    alerts: AlertDesk
