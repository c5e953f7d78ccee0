"""Privacy plugs in: the guest's copy and erasure of their data (after booking, handoff and the
guest messages, whose records it reaches) and the retention purge job."""

from __future__ import annotations

from datetime import timedelta

import structlog

from actions.capability import Capability, Kit
from actions.handoff.store import HandoffStore
from actions.handoff.transcripts import Transcripts
from actions.lifecycle.consent import Consents
from actions.privacy.conversation import create_router
from actions.privacy.records import GuestRecords
from actions.privacy.settings import PrivacySettings
from bot.jobs.job import Job

log = structlog.get_logger("rsv360.privacy")


def plug(kit: Kit, settings: PrivacySettings) -> Capability:
    records = GuestRecords(
        kit.database,
        kit.stores.sessions,
        HandoffStore(kit.stores.handoffs),
        kit.stores.pending_replies,
        kit.stores.unreachable,
        kit.services.get(Consents),
        kit.services.get(Transcripts),
        kit.now,
    )
    kit.services.provide(records)
    retention = timedelta(days=settings.retention_days)
    accounting = timedelta(days=365 * settings.accounting_years)

    async def purge_personal_data() -> None:
        report = await records.purge(retention, accounting)
        if report.erased:
            log.info("personal_data_purged", **report.erased)

    purge = Job("purge_personal_data", purge_personal_data, settings.purge_every_seconds)
    return Capability(create_router(), [purge])
