"""Inbound payment webhooks: verified, stored, acknowledged, then applied.

``receive`` verifies the signature (each gateway its own way), stores the event unique by the
gateway's event id and answers at once; the event is applied in a background task that fetches
the payment from the gateway's API. An event stays unapplied until that succeeded, and
``retry_unapplied`` (run by the payments upkeep) picks up whatever a crash or an unreachable
gateway left behind, so a stored event is never lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Literal

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from actions.payments.gateway import GatewayError, Ignored, InvalidWebhook
from actions.payments.reconcile import keep, reconcile
from actions.payments.service import PaymentService
from actions.payments.tables import WebhookEvent
from bot.core.clock import Now
from bot.jobs.job import Job
from bot.stores.database import Database

log = structlog.get_logger("rsv360.payments")

Received = Literal["accepted", "duplicate", "ignored", "rejected", "unknown_gateway", "unavailable"]
MAX_ATTEMPTS = 20
RECONCILE_EVERY_SECONDS = 6 * 3600.0
MAX_APPLYING = 32
"""Events applied at once: the rest wait, so that receiving (store and answer) keeps its
database connections under a burst."""


class WebhookInbox:
    def __init__(self, database: Database, payments: PaymentService, now: Now) -> None:
        self._database = database
        self._payments = payments
        self._now = now
        self._tasks: set[asyncio.Task[str | None]] = set()
        self._applying = asyncio.Semaphore(MAX_APPLYING)

    async def receive(self, gateway_name: str, headers: Mapping[str, str], body: bytes) -> Received:
        gateway = self._payments.gateways.get(gateway_name)
        if gateway is None or not gateway.takes_webhooks:
            return "unknown_gateway"
        metrics = self._payments.metrics
        try:
            notice = await gateway.verify(headers, body)
        except InvalidWebhook as invalid:
            metrics.rejected(gateway_name, invalid.reason)
            log.warning("webhook_rejected", gateway=gateway_name, reason=invalid.reason)
            return "rejected"
        except GatewayError:  # PayPal's verification call failed: the sender will retry
            metrics.rejected(gateway_name, "unverifiable")
            return "unavailable"
        if isinstance(notice, Ignored):
            return "ignored"
        try:
            async with self._database.session() as session:
                event = WebhookEvent(
                    gateway=gateway_name,
                    event_id=notice.event_id[:120],
                    kind=notice.kind[:80],
                    reference=notice.reference[:100],
                    received_at=self._now(),
                )
                session.add(event)
        except IntegrityError:
            metrics.webhooks.labels(gateway_name, "duplicate").inc()
            return "duplicate"
        metrics.webhooks.labels(gateway_name, "stored").inc()
        task = asyncio.create_task(self._first_apply(event.id, gateway_name, event.reference))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return "accepted"

    async def apply(self, event_id: int) -> str | None:
        """Apply a stored event again (the upkeep's retry); None while that fails."""
        async with self._database.session() as session:
            event = await session.get(WebhookEvent, event_id)
            if event is None or event.applied_at is not None:
                return None
            event.attempts += 1
            gateway_name, reference = event.gateway, event.reference
        return await self._apply(event_id, gateway_name, reference)

    async def _first_apply(self, event_id: int, gateway_name: str, reference: str) -> str | None:
        async with self._applying:
            with self._payments.metrics.loops.isolated("webhook_apply"):
                return await self._apply(event_id, gateway_name, reference)
        return None  # failed and counted: the upkeep tries it again

    async def _apply(self, event_id: int, gateway_name: str, reference: str) -> str | None:
        """Fetch the payment the event is about and apply it; None while the gateway cannot
        answer. Any other failure is raised for the caller's loop to count."""
        try:
            status = await self._payments.gateways[gateway_name].status(reference)
        except GatewayError as error:
            log.warning(
                "webhook_apply_failed",
                gateway=gateway_name,
                event_row=event_id,
                status=error.status,
                code=error.code,
            )
            return None
        settled = await self._payments.apply(gateway_name, status)
        async with self._database.session() as session:
            await session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id == event_id)
                .values(applied_at=self._now(), outcome=settled.result)
            )
        return settled.result

    async def retry_unapplied(self, older_than_seconds: float = 60.0) -> int:
        """Apply the events left unapplied for a while (not those a task is applying now)."""
        due = self._now() - timedelta(seconds=older_than_seconds)
        async with self._database.session() as session:
            ids = list(
                await session.scalars(
                    select(WebhookEvent.id)
                    .where(
                        WebhookEvent.applied_at.is_(None),
                        WebhookEvent.received_at < due,
                        WebhookEvent.attempts < MAX_ATTEMPTS,
                    )
                    .order_by(WebhookEvent.id)
                    .limit(100)
                )
            )
        for event_id in ids:
            with self._payments.metrics.loops.isolated("webhook_retry"):
                await self.apply(event_id)
        return len(ids)

    async def drain(self) -> None:
        """Wait for the events being applied now (shutdown, tests, benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def payments_jobs(
    inbox: WebhookInbox, database: Database, payments: PaymentService, now: Now
) -> list[Job]:
    async def retry_payment_events() -> None:
        retried = await inbox.retry_unapplied()
        if retried:
            log.info("webhooks_retried", count=retried)

    async def reconcile_payments() -> None:
        at = now()
        differences = await reconcile(database, payments, at)
        payments.metrics.reconcile_differences.set(len(differences))
        await keep(database, differences, at)
        for found in differences:
            log.warning(
                "payment_differs_from_gateway",
                reservation=found.reservation_code,
                gateway=found.gateway,
                note=found.note,
            )
        log.info("payments_reconciled", differences=len(differences))

    # No event is due for a retry before it is a minute old: every 30 s is soon enough.
    return [
        Job("retry_payment_events", retry_payment_events, every_seconds=30.0),
        Job("reconcile_payments", reconcile_payments, every_seconds=RECONCILE_EVERY_SECONDS),
    ]
