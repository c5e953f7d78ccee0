"""Messages around the stay plug in: the properties' message files, the guests' consent, the
stop/start conversation and the jobs that plan and send the messages. After booking (its
reservations) and the FAQ (each property's facts)."""

from __future__ import annotations

import structlog

from actions.capability import Capability, Kit
from actions.faq.conversation import Faq
from actions.lifecycle.config import MessagesConfig
from actions.lifecycle.consent import Consents
from actions.lifecycle.conversation import create_router
from actions.lifecycle.desk import GuestMessages
from actions.lifecycle.schedule import QuietHours
from actions.lifecycle.settings import LifecycleSettings
from bot.jobs.job import Job

log = structlog.get_logger("rsv360.lifecycle")


def plug(kit: Kit, settings: LifecycleSettings, config: MessagesConfig) -> Capability:
    consents = Consents(kit.database, kit.now)
    desk = GuestMessages(
        kit.database,
        config,
        kit.services.get(Faq).properties,
        consents,
        kit.notifier,
        QuietHours(settings.quiet_start, settings.quiet_end),
        kit.now,
    )
    kit.services.provide(config, consents, desk)

    async def plan_guest_messages() -> None:
        planned = await desk.plan()
        if planned:
            log.info("guest_messages_planned", count=planned)

    async def send_guest_messages() -> None:
        counts = await desk.send_due(kit.metrics.loops)
        if counts:
            log.info("guest_messages_sent", **counts)

    jobs = [
        Job("plan_guest_messages", plan_guest_messages, every_seconds=settings.every_seconds),
        Job("send_guest_messages", send_guest_messages, every_seconds=settings.every_seconds),
    ]
    return Capability(create_router(), jobs)
