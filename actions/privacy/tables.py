"""The audit of privacy requests: who asked for what, when, and what was done or kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from actions.tables import Base


class PrivacyRequest(Base):
    """One export, erasure or retention purge. ``subject`` is a pseudonym of the conversation
    (the audit must not keep what was erased); ``report`` counts what was exported, erased or
    kept, with the legal reason for what was kept."""

    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(64))
    verified_by: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
