"""The scheduled guest messages and each guest's consent to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from actions.tables import Base


class GuestMessage(Base):
    """One message planned for one reservation. The unique (reservation, kind) pair plans it
    once; the state moves ``scheduled → sending → sent`` (or ``skipped``, ``failed``) by
    conditional updates, so two workers never both send it."""

    __tablename__ = "guest_messages"
    __table_args__ = (
        UniqueConstraint("reservation_id", "kind"),
        Index("ix_guest_messages_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """When it goes out, already moved out of the property's quiet hours."""
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """After this it would come too late (a pre-arrival message after check-in): skipped."""
    outcome: Mapped[str | None] = mapped_column(String(40))
    """Why it was skipped or failed; what it said besides the core (``upsell``)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MessageConsent(Base):
    """What one guest (a conversation on a channel) said about the messages: stopped, and
    whether marketing-type messages (upsell, review, follow-up) are welcome."""

    __tablename__ = "message_consent"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    stopped: Mapped[bool] = mapped_column(default=False)
    marketing: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
