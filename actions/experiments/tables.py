"""What the experiments keep for good: each user's first exposure per experiment version, each
goal event counted for it (once per user and event), and each decision with its figures.

Subjects and conversations are pseudonyms (``bot.core.observability.pseudonym``), never ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from actions.tables import Base


class ExposureRecord(Base):
    __tablename__ = "experiment_exposures"
    __table_args__ = (
        UniqueConstraint("experiment", "version", "subject"),
        Index("ix_experiment_exposures_conversation", "conversation", "first_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(16))
    variant: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(32))
    conversation: Mapped[str] = mapped_column(String(32))
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConversionRecord(Base):
    __tablename__ = "experiment_conversions"
    __table_args__ = (
        UniqueConstraint("experiment", "version", "subject", "event"),
        Index("ix_experiment_conversions_experiment", "experiment", "version", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(16))
    variant: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(20))
    """``booking_held``, ``booking_paid``, ``handoff``, ``out_of_scope``, ``replied``."""
    value: Mapped[int] = mapped_column(default=0)
    """The amount paid (cents) of a ``booking_paid``."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DecisionRecord(Base):
    __tablename__ = "experiment_decisions"
    __table_args__ = (UniqueConstraint("experiment", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(16))
    winner: Mapped[str] = mapped_column(String(60))
    decided_by: Mapped[str] = mapped_column(String(120))
    """``stopping_rule``, or the staff member who stopped it."""
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
