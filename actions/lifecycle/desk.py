"""Planning and sending the messages around a stay.

``plan`` gives each confirmed reservation its pre-arrival, arrival and post-stay messages and
each expired hold its follow-up, as rows of ``guest_messages`` (unique per reservation and
kind, so planning twice plans once). ``send_due`` claims each due row with one conditional
update (``scheduled → sending``): of two workers, or two runs, exactly one wins it, and only
the winner looks further. It then skips it (switched off, stopped, no opt-in, too late, the
reservation changed), moves it out of the quiet hours, or sends it and marks it sent. A worker
that dies after its claim leaves the row ``sending``: never sent twice outweighs never lost
for a courtesy message.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from actions.booking.conversation import BOOK_AGAIN
from actions.booking.states import CONFIRMED, EXPIRED
from actions.booking.tables import Reservation
from actions.faq.knowledge import PropertyKnowledge
from actions.lifecycle.config import MessagesConfig, PropertyMessages
from actions.lifecycle.consent import Consent, Consents
from actions.lifecycle.schedule import KINDS, MARKETING, Kind, QuietHours, Timing, window
from actions.lifecycle.tables import GuestMessage
from bot.core.buttons import button_payload
from bot.core.clock import Now
from bot.core.loops import LoopFailures
from bot.core.types import Address, Choice, Outcome
from bot.outbound.proactive import Notifier
from bot.stores.database import Database

log = structlog.get_logger("rsv360.lifecycle")

SCHEDULED, SENDING, SENT, SKIPPED, FAILED = "scheduled", "sending", "sent", "skipped", "failed"
BATCH = 200
STOP = Choice("stop_messages", payload=button_payload("stop_messages"))
ANCHOR_STATE: Mapping[Kind, str] = {
    "pre_arrival": CONFIRMED,
    "arrival": CONFIRMED,
    "post_stay": CONFIRMED,
    "abandoned": EXPIRED,
}
PLAN_BACK = timedelta(days=3)
"""How far back planning looks (a stay that ended, a hold that expired): after that every
message it could get would come too late anyway."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What becomes of a claimed message: sent with ``outcome``, postponed to ``due``, or
    skipped for ``reason``."""

    outcome: Outcome | None = None
    due: datetime | None = None
    reason: str | None = None
    note: str | None = None


class GuestMessages:
    def __init__(
        self,
        database: Database,
        config: MessagesConfig,
        knowledge: Mapping[str, PropertyKnowledge],
        consents: Consents,
        notifier: Notifier,
        quiet: QuietHours,
        clock: Now,
    ) -> None:
        self._database = database
        self._config = config
        self._knowledge = knowledge
        self._consents = consents
        self._notifier = notifier
        self._quiet = quiet
        self._clock = clock

    async def plan(self) -> int:
        """Plan the messages of every reservation that became one to message; how many rows."""
        now = self._clock()
        planned = select(GuestMessage.id).where(GuestMessage.reservation_id == Reservation.id)
        query = select(Reservation).where(
            ~planned.exists(),
            or_(
                and_(
                    Reservation.state == CONFIRMED,
                    Reservation.check_out >= (now - PLAN_BACK).date(),
                ),
                and_(Reservation.state == EXPIRED, Reservation.hold_expires_at >= now - PLAN_BACK),
            ),
        )
        insert = sqlite_insert if self._database.is_sqlite else postgresql_insert
        rows = []
        async with self._database.session() as session:
            for reservation in (await session.scalars(query)).unique():
                rows += self._rows(reservation, now)
            if rows:
                await session.execute(
                    insert(GuestMessage)
                    .values(rows)
                    .on_conflict_do_nothing(index_elements=["reservation_id", "kind"])
                )
        return len(rows)

    def _rows(self, reservation: Reservation, now: datetime) -> list[dict[str, Any]]:
        config = self._config.of(reservation.property.slug)
        zone = ZoneInfo(reservation.property.timezone)
        rows: list[dict[str, Any]] = []
        for kind in KINDS:
            if ANCHOR_STATE[kind] != reservation.state:
                continue
            switch = config.messages.get(kind) if config else None
            planned = window(
                kind,
                switch.timing if switch else Timing(),
                zone,
                reservation.check_in,
                reservation.check_out,
                _aware(reservation.hold_expires_at) if reservation.hold_expires_at else None,
            )
            rows.append(
                {
                    "reservation_id": reservation.id,
                    "kind": kind,
                    "state": SCHEDULED,
                    "due_at": self._quiet.outside(max(planned.due, now), zone),
                    "deadline": planned.deadline,
                    "created_at": now,
                }
            )
        return rows

    async def send_due(self, loops: LoopFailures | None = None) -> dict[str, int]:
        """Send (or skip, or postpone) every message due now; counts by what became of them."""
        now = self._clock()
        async with self._database.session() as session:
            due = list(
                await session.scalars(
                    select(GuestMessage.id)
                    .where(GuestMessage.state == SCHEDULED, GuestMessage.due_at <= now)
                    .order_by(GuestMessage.due_at)
                    .limit(BATCH)
                )
            )
        counts: dict[str, int] = {}
        for message_id in due:
            with loops.isolated("guest_message") if loops else nullcontext():
                result = await self._send_one(message_id, now)
                if result is not None:
                    counts[result] = counts.get(result, 0) + 1
        return counts

    async def _send_one(self, message_id: int, now: datetime) -> str | None:
        async with self._database.session() as session:
            claimed = await session.execute(
                update(GuestMessage)
                .where(
                    GuestMessage.id == message_id,
                    GuestMessage.state == SCHEDULED,
                    GuestMessage.due_at <= now,
                )
                .values(state=SENDING)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None  # another worker has it
            message = await session.get_one(GuestMessage, message_id)
            reservation = await session.get_one(Reservation, message.reservation_id)
            verdict = await self._verdict(session, message, reservation, now)
        if verdict.outcome is not None:
            address = Address(reservation.channel, reservation.conversation_id)
            try:
                await self._notifier.notify(address, reservation.locale, [verdict.outcome])
            except Exception:
                log.exception("guest_message_failed", kind=message.kind)
                return await self._finish(message_id, FAILED, "delivery", None)
            return await self._finish(message_id, SENT, verdict.note, now)
        if verdict.due is not None:
            return await self._finish(message_id, SCHEDULED, "postponed", None, verdict.due)
        return await self._finish(message_id, SKIPPED, verdict.reason, None)

    async def _finish(
        self,
        message_id: int,
        state: str,
        outcome: str | None,
        sent_at: datetime | None,
        due: datetime | None = None,
    ) -> str:
        changes: dict[str, object] = {"state": state, "outcome": outcome, "sent_at": sent_at}
        if due is not None:
            changes["due_at"] = due
        async with self._database.session() as session:
            await session.execute(
                update(GuestMessage).where(GuestMessage.id == message_id).values(**changes)
            )
        return "postponed" if due is not None else state

    async def _verdict(
        self,
        session: AsyncSession,
        message: GuestMessage,
        reservation: Reservation,
        now: datetime,
    ) -> Verdict:
        kind: Kind = message.kind  # type: ignore[assignment]
        config = self._config.of(reservation.property.slug)
        zone = ZoneInfo(reservation.property.timezone)
        address = Address(reservation.channel, reservation.conversation_id)
        consent = await self._consents.of(address, session)
        if config is None or config.switch(kind) is None:
            return Verdict(reason="off")
        if now > _aware(message.deadline):
            return Verdict(reason="late")
        if reservation.state != ANCHOR_STATE[kind]:
            return Verdict(reason=reservation.state)
        if consent.stopped:
            return Verdict(reason="stopped")
        if kind in MARKETING and config.opt_in_required and not consent.marketing:
            return Verdict(reason="no_opt_in")
        if kind == "abandoned" and await _booked_again(session, reservation):
            return Verdict(reason="booked_again")
        if self._quiet.quiet(now.astimezone(zone)):
            return Verdict(due=self._quiet.outside(now, zone))
        return self._compose(kind, reservation, config, consent)

    def _compose(
        self, kind: Kind, reservation: Reservation, config: PropertyMessages, consent: Consent
    ) -> Verdict:
        locale = reservation.locale
        knowledge = self._knowledge.get(reservation.property.slug)
        facts = {
            "code": reservation.code,
            "property": reservation.property.name,
            "guest": reservation.guest_name.split(" ")[0],
            "checkin": reservation.check_in.isoformat(),
            "checkout": reservation.check_out.isoformat(),
        }
        if kind == "pre_arrival":
            upsell = consent.marketing or not config.opt_in_required
            offers = config.extras if upsell else []
            choices = [
                Choice(
                    "add_extra",
                    payload=button_payload("add_extra", code=reservation.code, extra=extra.code),
                    values={
                        "name": config.text(extra.names, locale),
                        "price": extra.price,
                        "currency": reservation.currency,
                    },
                )
                for extra in offers
            ]
            if knowledge is not None and knowledge.map_url:
                choices.insert(0, Choice("open_map", url=knowledge.map_url))
            values = {
                **facts,
                "checkin_text": _answer(knowledge, "checkin", locale),
                "address": _answer(knowledge, "address", locale),
                "parking": _answer(knowledge, "parking", locale),
                "bring": config.text(config.bring, locale),
                "offers": bool(offers),
            }
            return Verdict(
                Outcome("lifecycle/pre_arrival", values, (*choices, STOP)),
                note="upsell" if offers else None,
            )
        if kind == "arrival":
            values = {
                **facts,
                "wifi": _answer(knowledge, "wifi", locale),
                "contact": config.contact,
            }
            return Verdict(Outcome("lifecycle/arrival", values, (STOP,)))
        if kind == "post_stay":
            review = (Choice("leave_review", url=config.review_url),) if config.review_url else ()
            return Verdict(Outcome("lifecycle/post_stay", facts, (*review, STOP)))
        return Verdict(Outcome("lifecycle/abandoned", facts, (BOOK_AGAIN, STOP)))


def _answer(knowledge: PropertyKnowledge | None, topic: str, locale: str) -> str | None:
    return knowledge.answer(topic, locale) if knowledge is not None else None


async def _booked_again(session: AsyncSession, reservation: Reservation) -> bool:
    """Whether the guest made another booking in the same chat after this hold."""
    later = await session.scalar(
        select(Reservation.id).where(
            Reservation.channel == reservation.channel,
            Reservation.conversation_id == reservation.conversation_id,
            Reservation.created_at > reservation.created_at,
        )
    )
    return later is not None


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every stored one is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
