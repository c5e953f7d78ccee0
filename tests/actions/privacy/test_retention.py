"""The retention purge on a moving clock: an unpaid booking's personal data goes after the
retention period, a paid one's after the accounting years; planned messages, consent records
and conversation transcripts go too; each purge is audited. Real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from actions.booking.holds import Holds
from actions.booking.reservations import Reservations
from actions.handoff.transcripts import Said, Transcripts
from actions.lifecycle.consent import Consents
from actions.lifecycle.desk import GuestMessages
from actions.lifecycle.tables import GuestMessage, MessageConsent
from actions.privacy.records import GuestRecords
from actions.privacy.tables import PrivacyRequest
from bot import Address
from bot.root.app import Runtime
from tests.support.guests import book, pousada_time
from tests.support.stays import off_season_stay, today

RETENTION = timedelta(days=180)
ACCOUNTING = timedelta(days=5 * 365)


async def count(runtime: Runtime, table: type) -> int:
    async with runtime.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_personal_data_is_purged_after_its_period(
    stay_runtime: Runtime, frozen_time: time_machine.Coordinates
) -> None:
    start = today()
    check_in, check_out = off_season_stay(start, nights=2, lead_days=10)
    paid = await book(stay_runtime, "kept-1", "en", check_in)
    unpaid = await book(stay_runtime, "gone-1", "en", check_in, paid=False)
    await stay_runtime.services.get(Consents).stop(Address("web", "gone-1"))
    transcripts = stay_runtime.services.get(Transcripts)
    await transcripts.record("web", "gone-1", [Said("guest", "oi"), Said("bot", "Olá!")])
    frozen_time.move_to(pousada_time(start, 23))
    await stay_runtime.services.get(Holds).expire_holds()
    await stay_runtime.services.get(GuestMessages).plan()
    records = stay_runtime.services.get(GuestRecords)
    reservations = stay_runtime.services.get(Reservations)

    frozen_time.move_to(pousada_time(start + RETENTION - timedelta(days=1), 12))
    assert (await records.purge(RETENTION, ACCOUNTING)).erased == {}
    assert (await reservations.by_code(unpaid.code)).guest_name == "Rita Alves"
    assert await count(stay_runtime, PrivacyRequest) == 0

    frozen_time.move_to(pousada_time(check_out + RETENTION + timedelta(days=1), 12))
    report = await records.purge(RETENTION, ACCOUNTING)
    assert report.erased == {
        "conversations": 1,
        "reservations": 1,
        "guest_messages": 4,
        "message_consent": 1,
    }
    assert await transcripts.find("web", "gone-1") is None
    assert (await reservations.by_code(unpaid.code)).guest_name == "erased"
    assert (await reservations.by_code(paid.code)).email == "rita@example.com"
    assert await count(stay_runtime, GuestMessage) == 0
    assert await count(stay_runtime, MessageConsent) == 0
    assert (await records.purge(RETENTION, ACCOUNTING)).erased == {}

    frozen_time.move_to(pousada_time(check_out + ACCOUNTING + timedelta(days=1), 12))
    assert (await records.purge(RETENTION, ACCOUNTING)).erased == {"reservations": 1}
    kept_no_more = await reservations.by_code(paid.code)
    assert (kept_no_more.guest_name, kept_no_more.phone) == ("erased", None)
    assert await count(stay_runtime, PrivacyRequest) == 2
