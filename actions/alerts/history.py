"""The stored alerts: one row per alert episode, an event per raise, and deliveries.

Raising an alert takes a lock on its dedupe key for the transaction (PostgreSQL's advisory
lock; SQLite serialises writers anyway), so a storm of the same alert from several processes
folds into one row instead of racing to create many.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from actions.alerts.model import SEVERITIES, Alert, clipped
from actions.alerts.tables import AlertDelivery, AlertEvent, AlertRecord
from bot.stores.database import Database, as_utc

Change = Literal["new", "repeated", "escalated", "reopened", "resolved", "stray"]
"""What a raise did: a new alert, the same again, more severe, firing again soon after it
resolved, resolved, or a resolve of an alert never seen (stored, never sent)."""


@dataclass(frozen=True, slots=True)
class Raised:
    alert_id: int
    change: Change


class AlertHistory:
    def __init__(self, database: Database, window_seconds: int) -> None:
        self.database = database
        self._window = timedelta(seconds=window_seconds)

    async def record(self, session: AsyncSession, alert: Alert, now: datetime) -> Raised:
        """Store the raise (or resolve) and fold it into its alert's row."""
        await self._lock(session, alert.dedupe_key)
        latest = await session.scalar(
            select(AlertRecord)
            .where(AlertRecord.dedupe_key == alert.dedupe_key)
            .order_by(AlertRecord.last_at.desc(), AlertRecord.id.desc())
            .limit(1)
            .with_for_update()
        )
        recent = latest is not None and (
            latest.status == "firing" or now - as_utc(latest.last_at) <= self._window
        )
        change: Change
        if alert.status == "resolved":
            if latest is None or latest.status == "resolved":
                record, change = self._new(session, alert, now), "stray"
            else:
                latest.status, latest.resolved_at, latest.last_at = "resolved", now, now
                record, change = latest, "resolved"
        elif latest is not None and recent:
            change = _change(latest, alert)
            latest.status, latest.resolved_at, latest.last_at = "firing", None, now
            latest.count += 1
            latest.severity = alert.severity
            latest.summary = clipped(alert.summary, 300)
            latest.details = alert.details
            latest.template, latest.facts = alert.template, alert.facts
            latest.actions = _actions(alert)
            record = latest
        else:
            record, change = self._new(session, alert, now), "new"
        await session.flush()
        session.add(
            AlertEvent(
                alert_id=record.id,
                kind="resolved" if alert.status == "resolved" else "fired",
                at=now,
                severity=alert.severity,
                summary=clipped(alert.summary, 300),
            )
        )
        return Raised(record.id, change)

    async def firing(self, dedupe_key: str) -> AlertRecord | None:
        """The alert of that key that fires now, if one does."""
        async with self.database.session() as session:
            found: AlertRecord | None = await session.scalar(
                select(AlertRecord)
                .where(AlertRecord.dedupe_key == dedupe_key, AlertRecord.status == "firing")
                .order_by(AlertRecord.last_at.desc())
                .limit(1)
            )
            return found

    async def new_messages_since(
        self, session: AsyncSession, destination: str, since: datetime
    ) -> int:
        """Messages started for a destination since ``since`` (its share of a storm)."""
        count = await session.scalar(
            select(func.count())
            .select_from(AlertDelivery)
            .where(
                AlertDelivery.destination == destination,
                AlertDelivery.created_at >= since,
                AlertDelivery.state.in_(("pending", "sent", "failed")),
            )
        )
        return int(count or 0)

    async def open_alerts(self, limit: int = 20) -> list[AlertRecord]:
        """Firing alerts, the most recent first."""
        async with self.database.session() as session:
            rows = await session.scalars(
                select(AlertRecord)
                .where(AlertRecord.status == "firing")
                .order_by(AlertRecord.last_at.desc())
                .limit(limit)
            )
            return list(rows)

    async def recent(self, limit: int = 50) -> list[tuple[AlertRecord, list[AlertDelivery]]]:
        """The latest alerts, with where each went."""
        async with self.database.session() as session:
            records = list(
                await session.scalars(
                    select(AlertRecord).order_by(AlertRecord.last_at.desc()).limit(limit)
                )
            )
            deliveries = list(
                await session.scalars(
                    select(AlertDelivery).where(
                        AlertDelivery.alert_id.in_([record.id for record in records])
                    )
                )
            )
        return [(record, [d for d in deliveries if d.alert_id == record.id]) for record in records]

    async def events(self, alert_id: int) -> list[AlertEvent]:
        async with self.database.session() as session:
            rows = await session.scalars(
                select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
            )
            return list(rows)

    @staticmethod
    def _new(session: AsyncSession, alert: Alert, now: datetime) -> AlertRecord:
        record = AlertRecord(
            dedupe_key=alert.dedupe_key,
            type=alert.type,
            severity=alert.severity,
            status=alert.status,
            source=alert.source,
            summary=clipped(alert.summary, 300),
            details=alert.details,
            runbook_url=alert.runbook_url,
            dashboard_url=alert.dashboard_url,
            actions=_actions(alert),
            template=alert.template,
            facts=alert.facts,
            fired_at=now,
            last_at=now,
            count=1,
            resolved_at=now if alert.status == "resolved" else None,
        )
        session.add(record)
        return record

    async def _lock(self, session: AsyncSession, key: str) -> None:
        if self.database.is_sqlite:
            return
        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": number})


def _actions(alert: Alert) -> list[list[str]]:
    return [[action.label, action.payload] for action in alert.actions]


def _change(latest: AlertRecord, alert: Alert) -> Change:
    if latest.status == "resolved":
        return "reopened"
    if SEVERITIES.index(alert.severity) < SEVERITIES.index(latest.severity):
        return "escalated"
    return "repeated"
