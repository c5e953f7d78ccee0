"""The alert desk: raise an alert, decide who hears of it now, deliver it as jobs.

``raise_alert`` stores the raise, then for each destination of its route decides (in the same
transaction, under the alert's lock): a first message, an update of the one sent (a repeat at
most every ``update_seconds``; a resolve, an escalation or an acknowledgement at once), or held
and listed: silenced, in the destination's quiet hours (non-critical only), or over its share
of a storm (``storm_messages`` new messages per ``storm_seconds``). What is to be sent is a row
in ``alert_deliveries`` and a ``deliver_alert`` job; the job retries with backoff, then hands
the alert to the fallback destination. Nothing here waits for a provider inside a guest's turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.alerts.delivery import ChatPoster, Mailer, WebhookPoster
from actions.alerts.history import AlertHistory, Change
from actions.alerts.metrics import AlertMetrics
from actions.alerts.model import Alert, AlertType, Severity, alert_type, severity
from actions.alerts.routing import Destination, Routing
from actions.alerts.settings import AlertSettings
from actions.alerts.tables import AlertDelivery, AlertEvent, AlertRecord
from actions.alerts.wording import SILENCE_HOURS, Render, Wording
from bot.core.clock import Now
from bot.outbound.delivery import RetryLater
from bot.stores.database import as_utc

log = structlog.get_logger("rsv360.alerts")

Kick = Callable[[int], Awaitable[None]]
"""Enqueues the ``deliver_alert`` job of one delivery row."""
SENDING = ("pending", "sent")
HELD = ("quiet", "throttled", "silenced")


class AlertDesk:
    def __init__(
        self,
        history: AlertHistory,
        routing: Routing,
        render: Render,
        metrics: AlertMetrics,
        settings: AlertSettings,
        now: Now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.history = history
        self.routing = routing
        self._wording = Wording(render)
        self._metrics = metrics
        self._settings = settings
        self._clock = now
        self._sleep = sleep
        self._chats: dict[str, ChatPoster] = {}
        self._mailer: Mailer | None = None
        self._webhook: WebhookPoster | None = None
        self._kick: Kick = self.deliver

    def _now(self) -> datetime:
        """In UTC: SQLite keeps no offset, so every stored time must be UTC to compare."""
        return self._clock().astimezone(UTC)

    def connect(
        self,
        kick: Kick | None = None,
        mailer: Mailer | None = None,
        webhook: WebhookPoster | None = None,
    ) -> None:
        """The job queue's enqueue, the e-mail sender and the webhook poster, when there are."""
        self._kick = kick or self._kick
        self._mailer = mailer or self._mailer
        self._webhook = webhook or self._webhook

    def register_chat(self, channel: str, poster: ChatPoster) -> None:
        self._chats[channel] = poster

    def unreachable(self, routing: Routing | None = None) -> list[Destination]:
        """Destinations of ``routing`` (the one in force by default) whose way out is not
        configured (checked once the channels are up)."""
        ways = {"email": self._mailer is not None, "webhook": self._webhook is not None}
        return [
            destination
            for destination in (routing or self.routing).destinations.values()
            if not ways.get(destination.target.channel, destination.target.channel in self._chats)
        ]

    async def raise_alert(self, alert: Alert) -> int:
        """Store the alert and start its deliveries; the id of its stored alert."""
        now = self._now()
        self._metrics.raised.labels(alert.type, alert.severity, alert.status).inc()
        kicks: list[int] = []
        async with self.history.database.session() as session:
            raised = await self.history.record(session, alert, now)
            record = await session.get(AlertRecord, raised.alert_id)
            assert record is not None
            for destination in self.routing.destinations_for(record.type, record.severity):
                kick = await self._admit(session, record, raised.change, destination, now)
                if kick is not None:
                    kicks.append(kick)
        log.info(
            "alert_raised",
            alert=raised.alert_id,
            type=alert.type,
            severity=alert.severity,
            change=raised.change,
            deliveries=len(kicks),
        )
        await self._start(kicks)
        return raised.alert_id

    async def resolve(self, dedupe_key: str) -> bool:
        """Resolve the alert of that key that fires (the matter was settled in the bot: a
        refund decided); False when none fires, and then nothing is stored."""
        record = await self.history.firing(dedupe_key)
        if record is None:
            return False
        resolved = Alert(
            alert_type(record.type),
            severity(record.severity),
            dedupe_key,
            record.summary,
            record.details,
            status="resolved",
            source=record.source,
        )
        await self.raise_alert(resolved)
        return True

    async def deliver(self, delivery_id: int) -> None:
        """The ``deliver_alert`` job: send (or update) the message until it shows the latest
        change; after every retry failed, the fallback destination gets the alert."""
        while True:
            async with self.history.database.session() as session:
                row = await session.get(AlertDelivery, delivery_id)
                if row is None or row.state != "pending":
                    return
                record = await session.get(AlertRecord, row.alert_id)
                assert record is not None
                version, ref, updating = row.version, row.message_ref, row.sent_version > 0
            destination = self.routing.destinations.get(row.destination)
            error: str | None = "unknown destination"
            sent = False
            if destination is not None:
                sent, ref, error = await self._attempts(destination, record, ref)
            again = await self._settle(delivery_id, version, sent, ref, error)
            if not sent:
                self._metrics.count("failed")
                log.error("alert_delivery_failed", alert=record.id, to=row.destination, error=error)
                await self._fall_back(record.id, row.destination)
                return
            self._metrics.count("updated" if updating else "sent")
            if not again:
                return

    async def listing(self, locale: str, timezone: str, limit: int = 50) -> dict[str, Any]:
        """The alerts firing and the latest ones, worded in ``locale`` (the console's page)."""
        now = self._now()
        firing = await self.history.open_alerts(limit)
        recent = [record for record, _ in await self.history.recent(limit)]
        return {
            "firing": [self._wording.values(r, locale, timezone, now) for r in firing],
            "recent": [
                self._wording.values(r, locale, timezone, now)
                for r in recent
                if r.status != "firing"
            ],
            "silence_hours": SILENCE_HOURS,
        }

    async def acknowledge(self, alert_id: int, actor: str) -> str:
        """``acknowledged``, ``already`` (by someone) or ``unknown``; the messages show who."""
        return await self._staff_change(alert_id, actor, "acknowledged", None)

    async def silence(self, alert_id: int, actor: str, hours: int) -> str:
        """``silenced`` (repeats are not sent until then) or ``unknown``."""
        return await self._staff_change(alert_id, actor, "silenced", hours)

    async def release_quiet(self) -> int:
        """Send what quiet hours held, for alerts still firing, once the hours are over."""
        now = self._now()
        kicks: list[int] = []
        async with self.history.database.session() as session:
            rows = await session.scalars(
                select(AlertDelivery)
                .join(AlertRecord, AlertRecord.id == AlertDelivery.alert_id)
                .where(AlertDelivery.state == "quiet", AlertRecord.status == "firing")
                .with_for_update()
            )
            for row in list(rows):
                destination = self.routing.destinations.get(row.destination)
                if destination is not None and not destination.quiet_at(now):
                    kicks.append(await self._open(session, row, now))
        await self._start(kicks)
        return len(kicks)

    async def test(self, kind: AlertType, level: Severity) -> list[tuple[str, str, str]]:
        """``rsv360 alerts test``: a test alert sent now to every destination of its route
        (quiet hours and storms aside); (destination, target, state) for each."""
        now = self._now()
        alert = Alert(
            kind, level, f"test:{kind}:{now.isoformat()}", "rsv360 alerts test", source="test"
        )
        destinations = self.routing.destinations_for(kind, level)
        async with self.history.database.session() as session:
            raised = await self.history.record(session, alert, now)
            rows = [
                AlertDelivery(
                    alert_id=raised.alert_id,
                    destination=destination.name,
                    target=_target_text(destination),
                    state="pending",
                    created_at=now,
                )
                for destination in destinations
            ]
            session.add_all(rows)
        for row in rows:
            await self.deliver(row.id)
        async with self.history.database.session() as session:
            states = await session.scalars(
                select(AlertDelivery).where(AlertDelivery.alert_id == raised.alert_id)
            )
            return [(row.destination, row.target, row.state) for row in states]

    async def _admit(
        self,
        session: AsyncSession,
        record: AlertRecord,
        change: Change,
        destination: Destination,
        now: datetime,
    ) -> int | None:
        """Whether this raise sends to ``destination``: the delivery row to kick, or None."""
        row = await session.scalar(
            select(AlertDelivery)
            .where(
                AlertDelivery.alert_id == record.id,
                AlertDelivery.destination == destination.name,
            )
            .with_for_update()
        )
        if change == "stray":
            return None
        silenced = record.silenced_until is not None and as_utc(record.silenced_until) > now
        if row is not None and row.state in SENDING:
            if silenced and change != "resolved":
                self._metrics.count("silenced")
                return None
            if change == "repeated" and not self._edit_due(row, destination, now):
                self._metrics.count("grouped")
                return None
            return _bump(row)
        if row is not None and row.state == "failed":
            self._metrics.count("grouped")  # its fallback destination has it
            return None
        if change == "resolved":
            return None  # nothing was shown there: nothing to resolve
        hold = await self._hold(session, record, destination, silenced, now)
        if hold is not None:
            self._metrics.count(hold)
            if row is None:
                row = _row(record.id, destination, hold, now)
                session.add(row)
            row.state = hold
            return None
        if row is None:
            row = _row(record.id, destination, "pending", now)
            session.add(row)
        return await self._open(session, row, now)

    async def _hold(
        self,
        session: AsyncSession,
        record: AlertRecord,
        destination: Destination,
        silenced: bool,
        now: datetime,
    ) -> str | None:
        """Why a first message to ``destination`` waits, or None when it goes now."""
        if silenced:
            return "silenced"
        if record.severity != "critical" and destination.quiet_at(now):
            return "quiet"
        since = now - timedelta(seconds=self._settings.storm_seconds)
        started = await self.history.new_messages_since(session, destination.name, since)
        return "throttled" if started >= self._settings.storm_messages else None

    @staticmethod
    async def _open(session: AsyncSession, row: AlertDelivery, now: datetime) -> int:
        row.state, row.created_at = "pending", now
        row.version = row.sent_version + 1
        await session.flush()
        return row.id

    def _edit_due(self, row: AlertDelivery, destination: Destination, now: datetime) -> bool:
        """A repeat edits a message that can be edited, at most every ``update_seconds``."""
        poster = self._chats.get(destination.target.channel)
        if destination.target.kind != "chat" or poster is None or not poster.editable:
            return False
        if row.sent_at is None:
            return True
        return now - as_utc(row.sent_at) >= timedelta(seconds=self._settings.update_seconds)

    async def _attempts(
        self, destination: Destination, record: AlertRecord, ref: str | None
    ) -> tuple[bool, str | None, str | None]:
        """Send with retries: (sent, the message's ref, the last error's name)."""
        error = None
        for attempt in range(1, self._settings.max_attempts + 1):
            try:
                return True, await self._send(destination, record, ref), None
            except Exception as failure:  # any provider failure is retried, then falls back
                error = type(failure).__name__
                log.warning("alert_delivery_retry", to=destination.name, error=error)
                if attempt < self._settings.max_attempts:
                    self._metrics.count("retried")
                    await self._sleep(self._backoff(attempt, failure))
        return False, ref, error

    async def _send(
        self, destination: Destination, record: AlertRecord, ref: str | None
    ) -> str | None:
        target, now = destination.target, self._now()
        if target.kind == "email":
            if self._mailer is None:
                raise LookupError("no SMTP server configured")
            mail = self._wording.email(record, destination, now)
            await self._mailer.send(target.address, mail.subject, mail.text, mail.html)
            return None
        if target.kind == "webhook":
            if self._webhook is None:
                raise LookupError("no webhook poster")
            await self._webhook.post(
                target.address, self._wording.chat(record, destination, now, links=False)
            )
            return None
        poster = self._chats.get(target.channel)
        if poster is None:
            raise LookupError(f"channel {target.channel} is not configured")
        reply = self._wording.chat(record, destination, now, links=True)
        if ref is not None and poster.editable:
            return await poster.edit(target.address, ref, reply) or ref
        return await poster.post(target.address, reply)

    def _backoff(self, attempt: int, failure: Exception) -> float:
        if isinstance(failure, RetryLater) and failure.retry_after is not None:
            return float(failure.retry_after)
        return min(60.0, self._settings.backoff_seconds * 2.0 ** (attempt - 1))

    async def _settle(
        self, delivery_id: int, version: int, sent: bool, ref: str | None, error: str | None
    ) -> bool:
        """Record the outcome; True when a change arrived meanwhile and is still to send."""
        async with self.history.database.session() as session:
            row = await session.get(AlertDelivery, delivery_id, with_for_update=True)
            assert row is not None
            row.attempts += 1
            if not sent:
                row.state, row.error = "failed", (error or "")[:200]
                return False
            row.sent_version, row.message_ref = version, ref
            row.sent_at, row.error = self._now(), None
            row.sent_count += 1
            again = row.version > version
            if not again:
                row.state = "sent"
            return again

    async def _fall_back(self, alert_id: int, failed: str) -> None:
        """The fallback destination gets the alert; without one it is counted and logged as
        undelivered (the history keeps it either way)."""
        fallback = self.routing.fallback
        if fallback is None or fallback.name == failed:
            self._metrics.count("undelivered")
            log.error("alert_undelivered", alert=alert_id, to=failed)
            return
        now = self._now()
        async with self.history.database.session() as session:
            row = await session.scalar(
                select(AlertDelivery)
                .where(
                    AlertDelivery.alert_id == alert_id, AlertDelivery.destination == fallback.name
                )
                .with_for_update()
            )
            if row is None:
                row = _row(alert_id, fallback, "pending", now)
                session.add(row)
                kick: int | None = await self._open(session, row, now)
            elif row.state in SENDING:
                kick = None  # it has the alert already (another destination failed first)
            else:
                kick = await self._open(session, row, now)
        self._metrics.count("fallback")
        log.warning("alert_fallback", alert=alert_id, failed=failed, to=fallback.name)
        await self._start([kick] if kick is not None else [])

    async def _staff_change(self, alert_id: int, actor: str, kind: str, hours: int | None) -> str:
        now = self._now()
        kicks: list[int] = []
        async with self.history.database.session() as session:
            record = await session.get(AlertRecord, alert_id, with_for_update=True)
            if record is None:
                return "unknown"
            if kind == "acknowledged":
                if record.acknowledged_by is not None:
                    return "already"
                record.acknowledged_by, record.acknowledged_at = actor[:120], now
            else:
                record.silenced_until = now + timedelta(hours=hours or 1)
                record.silenced_by = actor[:120]
            session.add(
                AlertEvent(
                    alert_id=alert_id,
                    kind=kind,
                    at=now,
                    actor=actor[:120],
                    severity=record.severity,
                    summary=record.summary,
                )
            )
            rows = await session.scalars(
                select(AlertDelivery)
                .where(AlertDelivery.alert_id == alert_id, AlertDelivery.state.in_(SENDING))
                .with_for_update()
            )
            for row in list(rows):
                destination = self.routing.destinations.get(row.destination)
                poster = self._chats.get(destination.target.channel) if destination else None
                if poster is not None and poster.editable:
                    kick = _bump(row)
                    if kick is not None:
                        kicks.append(kick)
        log.info(f"alert_{kind}", alert=alert_id, hours=hours)
        await self._start(kicks)
        return kind

    async def _start(self, kicks: list[int]) -> None:
        """Enqueue each delivery's job; one that cannot be enqueued stays pending, logged."""
        for delivery_id in kicks:
            try:
                await self._kick(delivery_id)
            except Exception:
                self._metrics.count("failed")
                log.exception("alert_enqueue_failed", delivery=delivery_id)


def _bump(row: AlertDelivery) -> int | None:
    """One more change for the message; the row to kick unless a job is already on it."""
    row.version += 1
    if row.state == "pending":
        return None
    row.state = "pending"
    return row.id


def _row(alert_id: int, destination: Destination, state: str, now: datetime) -> AlertDelivery:
    return AlertDelivery(
        alert_id=alert_id,
        destination=destination.name,
        target=_target_text(destination),
        state=state,
        created_at=now,
        version=0,
        sent_version=0,
        attempts=0,
        sent_count=0,
    )


def _target_text(destination: Destination) -> str:
    target = destination.target
    if target.kind == "webhook":
        return "webhook"  # the URL is a secret: whoever has it may post
    return f"{target.channel}:{target.address}"
