"""The booking history table: imported public-format rows and the demo's synthetic history.

Live reservations stay in ``reservations``; ``history.load_history`` reads both into one frame.
Each row keeps the booking-time facts the models learn from, and (in ``extra``) the columns a
model must not see (outcome leaks), kept so an import loses nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from actions.tables import Base


class HistoricalBooking(Base):
    __tablename__ = "booking_history"
    __table_args__ = (
        UniqueConstraint("source", "row_key", name="uq_booking_history_source_row_key"),
        Index("ix_booking_history_property_arrival", "property", "arrival"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(80))
    """Where the row came from: ``synthetic`` or ``import:<file name>``."""
    row_key: Mapped[str] = mapped_column(String(64))
    """Natural key within the source: a hash of the row's content and its occurrence number, so a
    re-import adds nothing and identical rows (group bookings) are all kept."""
    property: Mapped[str] = mapped_column(String(64))
    room_type: Mapped[str] = mapped_column(String(40))
    booked_on: Mapped[date] = mapped_column(Date)
    arrival: Mapped[date] = mapped_column(Date)
    nights: Mapped[int]
    weekend_nights: Mapped[int]
    adults: Mapped[int]
    children: Mapped[int]
    babies: Mapped[int]
    adr: Mapped[float] = mapped_column(Float)
    """Average daily rate in the property's currency (major units)."""
    is_canceled: Mapped[bool] = mapped_column(Boolean)
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    meal: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(8))
    market_segment: Mapped[str] = mapped_column(String(40))
    distribution_channel: Mapped[str] = mapped_column(String(40))
    deposit_type: Mapped[str] = mapped_column(String(40))
    customer_type: Mapped[str] = mapped_column(String(40))
    agent: Mapped[str] = mapped_column(String(20))
    company: Mapped[str] = mapped_column(String(20))
    is_repeated_guest: Mapped[bool] = mapped_column(Boolean)
    previous_cancellations: Mapped[int]
    previous_bookings_not_canceled: Mapped[int]
    parking_spaces: Mapped[int]
    special_requests: Mapped[int]
    extra: Mapped[dict[str, Any]] = mapped_column(JSON)
