"""Tables of the catalog, the inventory and the reservations. Money is in minor units (centavos)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from actions.tables import Base


class Property(Base):
    """A pousada, hotel or tour operator."""

    __tablename__ = "properties"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(80))
    timezone: Mapped[str] = mapped_column(String(40), default="America/Sao_Paulo")
    currency: Mapped[str] = mapped_column(String(3), default="BRL")
    photo_url: Mapped[str | None] = mapped_column(String(300))
    link: Mapped[str | None] = mapped_column(String(300))
    tax_percent: Mapped[int] = mapped_column(default=0)
    fee_per_stay: Mapped[int] = mapped_column(default=0)
    free_cancel_days: Mapped[int] = mapped_column(default=7)
    partial_cancel_days: Mapped[int] = mapped_column(default=2)
    partial_refund_percent: Mapped[int] = mapped_column(default=50)

    products: Mapped[list[Product]] = relationship(back_populates="property", order_by="Product.id")


class Product(Base):
    """What a guest reserves: a room type (rooms per night) or a tour (seats per day)."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("property_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    units: Mapped[int]
    """Rooms of this type, or seats of this tour per day."""
    max_adults: Mapped[int]
    max_children: Mapped[int] = mapped_column(default=0)
    min_stay: Mapped[int] = mapped_column(default=1)

    property: Mapped[Property] = relationship(back_populates="products")
    rates: Mapped[list[Rate]] = relationship(cascade="all, delete-orphan")

    def name(self, locale: str) -> str:
        return self.names.get(locale) or next(iter(self.names.values()))


class Season(Base):
    __tablename__ = "seasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    property_id: Mapped[int] = mapped_column(
        ForeignKey("properties.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(60))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    min_stay: Mapped[int] = mapped_column(default=1)


class Rate(Base):
    """Price of one night (a room) or one guest (a tour). The most specific rate applies: season
    and weekday, then season, then weekday, then the product's base rate."""

    __tablename__ = "rates"
    __table_args__ = (UniqueConstraint("product_id", "season_id", "weekday"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    season_id: Mapped[int | None] = mapped_column(ForeignKey("seasons.id", ondelete="CASCADE"))
    weekday: Mapped[int | None]
    amount: Mapped[int]


class Inventory(Base):
    """Units of a product on one day: rooms for a night, seats on a tour day."""

    __tablename__ = "inventory"
    __table_args__ = (CheckConstraint("taken >= 0 AND taken <= total", name="within_total"),)

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    total: Mapped[int]
    taken: Mapped[int] = mapped_column(default=0)


class Reservation(Base):
    __tablename__ = "reservations"
    __table_args__ = (
        Index("ix_reservations_address", "channel", "conversation_id"),
        Index("ix_reservations_hold", "state", "hold_expires_at"),
        # The console's Bookings page: the newest first, and stays overlapping some days.
        Index("ix_reservations_created", "created_at", "id"),
        Index("ix_reservations_stay", "checkin", "checkout"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    check_in: Mapped[date] = mapped_column("checkin", Date)
    check_out: Mapped[date] = mapped_column("checkout", Date)
    units: Mapped[int]
    adults: Mapped[int]
    children: Mapped[int] = mapped_column(default=0)
    guest_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[str] = mapped_column(String(128))
    locale: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int]
    quote: Mapped[dict[str, Any]] = mapped_column(JSON)
    hold_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refund_due: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    product: Mapped[Product] = relationship(lazy="joined")
    property: Mapped[Property] = relationship(lazy="joined")


class ReservationEvent(Base):
    """The audit trail: every state change, with who or what caused it."""

    __tablename__ = "reservation_events"
    # The console's Today page counts the day's changes by state.
    __table_args__ = (Index("ix_reservation_events_at", "at", "to_state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("reservations.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(300))
