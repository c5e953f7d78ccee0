"""Alerts plug in: the alert desk (routing file, stored history, metrics) for the staff's
buttons, the Alertmanager receiver and the code that raises alerts; one delivery job per
message and the release of alerts held by quiet hours. The ways out (chats, e-mail, webhooks)
are providers': the root connects them to the desk."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from actions.alerts.conversation import create_router
from actions.alerts.desk import AlertDesk
from actions.alerts.history import AlertHistory
from actions.alerts.metrics import AlertMetrics
from actions.alerts.routing import Routing
from actions.alerts.settings import AlertSettings
from actions.capability import Capability, Kit
from bot.core.clock import Now
from bot.core.render import Renderer
from bot.jobs.job import Job
from bot.stores.database import Database

QUIET_RELEASE_EVERY_SECONDS = 60.0


def plug(
    kit: Kit,
    settings: AlertSettings,
    routing: Routing,
) -> Capability:
    desk = alert_desk(kit.database, kit.renderer, kit.metrics.registry, settings, routing, kit.now)

    async def kick(delivery_id: int) -> None:
        await kit.jobs.enqueue("deliver_alert", delivery_id=delivery_id)

    desk.connect(kick)
    kit.services.provide(desk)
    jobs = [
        Job("deliver_alert", desk.deliver),
        Job("release_quiet_alerts", desk.release_quiet, every_seconds=QUIET_RELEASE_EVERY_SECONDS),
    ]
    return Capability(create_router(), jobs)


def alert_desk(
    database: Database,
    renderer: Renderer,
    registry: CollectorRegistry,
    settings: AlertSettings,
    routing: Routing,
    now: Now,
) -> AlertDesk:
    """The desk alone; it delivers in the caller until a queue is connected (the CLI's test)."""
    return AlertDesk(
        AlertHistory(database, settings.window_seconds),
        routing,
        renderer.render,
        AlertMetrics(registry),
        settings,
        now,
    )
