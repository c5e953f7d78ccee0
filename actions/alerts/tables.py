"""The alert history: each alert (one per dedupe key and episode), every time it was raised or
resolved, and where it was delivered.

``alerts`` holds the alert as it stands (fired first and last, how many times, acknowledged by
whom, silenced until, resolved); ``alert_events`` one row per raise, resolve, acknowledgement or
silence, so a storm folded into one message is still whole in the history; ``alert_deliveries``
one row per alert and destination, with the provider's message id that later edits update.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from actions.tables import Base


class AlertRecord(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_dedupe_key", "dedupe_key", "last_at"),
        Index("ix_alerts_status", "status", "last_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    """``firing`` or ``resolved``."""
    source: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text)
    runbook_url: Mapped[str | None] = mapped_column(String(2000))
    dashboard_url: Mapped[str | None] = mapped_column(String(2000))
    actions: Mapped[list[Any]] = mapped_column(JSON)
    """The type's own buttons: ``[[label, payload], ...]``."""
    template: Mapped[str | None] = mapped_column(String(100))
    """The template that words the alert in each destination's locale (alerts from the code);
    none: ``summary`` and ``details`` as they came (Alertmanager's annotations)."""
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """When it was last raised or resolved: the grouping window counts from here."""
    count: Mapped[int] = mapped_column(default=1)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    silenced_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    silenced_by: Mapped[str | None] = mapped_column(String(120))


class AlertEvent(Base):
    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_alert", "alert_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    """``fired``, ``resolved``, ``acknowledged``, ``silenced``."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str | None] = mapped_column(String(120))
    severity: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(String(300))


class AlertDelivery(Base):
    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "destination"),
        Index("ix_alert_deliveries_destination", "destination", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    destination: Mapped[str] = mapped_column(String(100))
    """The routing file's name of the destination."""
    target: Mapped[str] = mapped_column(String(2000))
    state: Mapped[str] = mapped_column(String(20))
    """``pending`` (a job is sending it), ``sent``, ``quiet`` (held by quiet hours),
    ``throttled`` (over the destination's share of a storm), ``silenced``, ``failed`` (after
    every retry)."""
    message_ref: Mapped[str | None] = mapped_column(String(200))
    """The provider's id of the message (Slack ``ts``), when it can be edited."""
    version: Mapped[int] = mapped_column(default=1)
    """Raised by each change the message should show; a job sends until ``sent_version``
    catches up, so changes arriving while it sends are never lost, nor sent twice."""
    sent_version: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    sent_count: Mapped[int] = mapped_column(default=0)
    """Provider calls made: the first message and each edit or follow-up."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(String(200))
