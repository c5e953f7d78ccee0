"""What is stored about a guest, gathered for a copy or erased.

A guest is a conversation on a channel (``Address``), verified by that channel's identity, and,
with a booking code and its e-mail, also the owner of every reservation made with that e-mail.
Their data lives in the conversation's session (history, form answers), its transcript, an open
handoff, the replies waiting for them, the reservations (name, e-mail, phone, chat), the messages
planned for them and their consent. Erasing removes or anonymises each; a reservation's name and
e-mail stay where the law needs them, with the reason in the report and the audit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.booking.states import ACTIVE, CANCELLED, CONFIRMED, EXPIRED
from actions.booking.tables import Reservation, ReservationEvent
from actions.handoff.store import HandoffStore
from actions.handoff.transcripts import Transcripts
from actions.lifecycle.consent import Consents
from actions.lifecycle.tables import GuestMessage, MessageConsent
from actions.privacy.tables import PrivacyRequest
from bot.core.clock import Now
from bot.core.observability import pseudonym
from bot.core.types import Address
from bot.stores import keys
from bot.stores.base import ListStore, ValueStore
from bot.stores.database import Database

ERASED = "erased"
ENDED_UNPAID = (EXPIRED, CANCELLED)
"""States in which a booking can end before its stay: its retention runs from then."""
CONTRACT = "contract"
"""The stay is still to come or under way: the property needs the guest's name and e-mail to
host them (LGPD art. 7, V)."""
ACCOUNTING = "accounting"
"""A paid reservation: name and e-mail are kept for the accounting records as tax law
requires (LGPD art. 16, I; five years)."""


@dataclass(frozen=True, slots=True)
class Guest:
    address: Address
    email: str | None = None
    """Set when verified with a booking code and its e-mail: their reservations made in other
    chats too."""

    @property
    def conversation_key(self) -> str:
        return f"{self.address.channel}:{self.address.conversation_id}"

    @property
    def verified_by(self) -> str:
        return "booking" if self.email else "channel"


@dataclass
class ErasureReport:
    erased: dict[str, int] = field(default_factory=dict)
    kept: list[dict[str, str]] = field(default_factory=list)

    def count(self, what: str, how_many: int = 1) -> None:
        if how_many:
            self.erased[what] = self.erased.get(what, 0) + how_many

    def document(self) -> dict[str, Any]:
        return {"erased": self.erased, "kept": self.kept}


class GuestRecords:
    def __init__(
        self,
        database: Database,
        sessions: ValueStore,
        handoffs: HandoffStore,
        pending: ListStore,
        unreachable: ValueStore,
        consents: Consents,
        transcripts: Transcripts,
        clock: Now,
    ) -> None:
        self._transcripts = transcripts
        self._database = database
        self._sessions = sessions
        self._handoffs = handoffs
        self._pending = pending
        self._unreachable = unreachable
        self._consents = consents
        self._clock = clock

    async def collect(self, guest: Guest, session: dict[str, Any]) -> dict[str, Any]:
        """Everything stored about the guest, as JSON-ready data. ``session`` is the
        conversation's session as this turn holds it (the store's copy is the same, older)."""
        handoff = await self._handoffs.of_guest(guest.conversation_key)
        address = guest.address
        transcript = await self._transcripts.find(address.channel, address.conversation_id)
        lines = [] if transcript is None else await self._transcripts.lines(transcript.id)
        async with self._database.session() as db:
            reservations = await _reservations(db, guest)
            ids = [reservation.id for reservation in reservations]
            events = list(
                await db.scalars(
                    select(ReservationEvent)
                    .where(ReservationEvent.reservation_id.in_(ids))
                    .order_by(ReservationEvent.at)
                )
            )
            messages = list(
                await db.scalars(select(GuestMessage).where(GuestMessage.reservation_id.in_(ids)))
            )
            consent = await db.get(
                MessageConsent, (guest.address.channel, guest.address.conversation_id)
            )
        return {
            "generated_at": self._clock().isoformat(),
            "verified_by": guest.verified_by,
            "conversation": {
                "channel": guest.address.channel,
                "conversation_id": guest.address.conversation_id,
                "session": session,
                "handoff": None if handoff is None else {"status": handoff.status},
                "transcript": [
                    {"at": line.at.isoformat(), "role": line.role, "text": line.text}
                    for line in lines
                ],
            },
            "reservations": [_reservation_document(r, events, messages) for r in reservations],
            "message_consent": None
            if consent is None
            else {
                "stopped": consent.stopped,
                "marketing": consent.marketing,
                "updated_at": consent.updated_at.isoformat(),
            },
        }

    async def erase(self, guest: Guest) -> ErasureReport:
        """Erase or anonymise everything about the guest, and audit it. The caller empties
        the session the turn holds (the pipeline saves it after the turn)."""
        report = ErasureReport()
        await self._sessions.delete(keys.session(guest.conversation_key))
        report.count("session")
        handoff = await self._handoffs.of_guest(guest.conversation_key)
        if handoff is not None:
            await self._handoffs.close(handoff)
            report.count("handoff")
        report.count(
            "pending_replies",
            len(await self._pending.take(keys.pending_replies(guest.conversation_key))),
        )
        await self._unreachable.delete(keys.unreachable(guest.conversation_key))
        address = guest.address
        report.count(
            "transcript_lines",
            await self._transcripts.forget(address.channel, address.conversation_id),
        )
        now = self._clock()
        async with self._database.session() as db:
            report.count("message_consent", await self._consents.forget(db, guest.address))
            for reservation in await _reservations(db, guest):
                await _erase_reservation(db, reservation, now.date(), report)
            db.add(_audit("erase", guest.conversation_key, guest.verified_by, now, report))
        return report

    async def audit_export(self, guest: Guest, exported: dict[str, Any]) -> None:
        counts = {"reservations": len(exported["reservations"])}
        async with self._database.session() as db:
            db.add(
                PrivacyRequest(
                    kind="export",
                    subject=pseudonym(guest.conversation_key),
                    verified_by=guest.verified_by,
                    at=self._clock(),
                    report={"exported": counts},
                )
            )

    async def purge(self, retention: timedelta, accounting: timedelta) -> ErasureReport:
        """The retention job: reservations whose stay (or unpaid booking) ended more than
        ``retention`` ago lose their personal fields, paid ones after ``accounting``; planned
        messages, consent records and conversations whose last line is older than ``retention``
        go. Audited as one entry."""
        now = self._clock()
        report = ErasureReport()
        report.count("conversations", await self._transcripts.purge(now - retention))
        async with self._database.session() as db:
            ended = or_(
                Reservation.check_out < (now - retention).date(),
                Reservation.state.in_(ENDED_UNPAID) & (Reservation.updated_at < now - retention),
            )
            stale = await db.scalars(
                select(Reservation).where(ended, Reservation.guest_name != ERASED)
            )
            for reservation in stale.unique():
                paid = await _was_paid(db, reservation)
                if not paid or reservation.check_out < (now - accounting).date():
                    _anonymise(reservation)
                    report.count("reservations")
            removed = await db.execute(
                delete(GuestMessage).where(GuestMessage.created_at < now - retention)
            )
            report.count("guest_messages", int(removed.rowcount or 0))  # type: ignore[attr-defined]
            removed = await db.execute(
                delete(MessageConsent).where(MessageConsent.updated_at < now - retention)
            )
            report.count("message_consent", int(removed.rowcount or 0))  # type: ignore[attr-defined]
            if report.erased:
                db.add(_audit("purge", "retention", "schedule", now, report))
        return report


async def _reservations(db: AsyncSession, guest: Guest) -> Sequence[Reservation]:
    mine = (Reservation.channel == guest.address.channel) & (
        Reservation.conversation_id == guest.address.conversation_id
    )
    condition = or_(mine, Reservation.email == guest.email) if guest.email else mine
    found = await db.scalars(select(Reservation).where(condition).order_by(Reservation.id))
    return list(found.unique())


async def _was_paid(db: AsyncSession, reservation: Reservation) -> bool:
    confirmed = await db.scalar(
        select(ReservationEvent.id).where(
            ReservationEvent.reservation_id == reservation.id,
            ReservationEvent.to_state == CONFIRMED,
        )
    )
    return confirmed is not None


async def _erase_reservation(
    db: AsyncSession, reservation: Reservation, today: date, report: ErasureReport
) -> None:
    removed = await db.execute(
        delete(GuestMessage).where(GuestMessage.reservation_id == reservation.id)
    )
    report.count("guest_messages", int(removed.rowcount or 0))  # type: ignore[attr-defined]
    upcoming = reservation.state in ACTIVE or (
        reservation.state == CONFIRMED and reservation.check_out >= today
    )
    if upcoming:
        reason = CONTRACT
    elif await _was_paid(db, reservation):
        reason = ACCOUNTING
    else:
        _anonymise(reservation)
        report.count("reservations")
        return
    # Kept for the stay or the books: the name and e-mail; the phone and the chat go.
    reservation.phone = None
    reservation.conversation_id = f"{ERASED}:{reservation.id}"
    report.kept.append({"code": reservation.code, "fields": "guest_name,email", "reason": reason})


def _anonymise(reservation: Reservation) -> None:
    reservation.guest_name = ERASED
    reservation.email = f"{ERASED}-{reservation.id}@invalid"
    reservation.phone = None
    reservation.conversation_id = f"{ERASED}:{reservation.id}"


def _audit(
    kind: str, subject: str, verified_by: str, at: datetime, report: ErasureReport
) -> PrivacyRequest:
    return PrivacyRequest(
        kind=kind,
        subject=pseudonym(subject),
        verified_by=verified_by,
        at=at,
        report=report.document(),
    )


def _reservation_document(
    reservation: Reservation, events: Sequence[ReservationEvent], messages: Sequence[GuestMessage]
) -> dict[str, Any]:
    return {
        "code": reservation.code,
        "property": reservation.property.name,
        "room": reservation.product.name(reservation.locale),
        "checkin": reservation.check_in.isoformat(),
        "checkout": reservation.check_out.isoformat(),
        "adults": reservation.adults,
        "children": reservation.children,
        "guest_name": reservation.guest_name,
        "email": reservation.email,
        "phone": reservation.phone,
        "channel": reservation.channel,
        "locale": reservation.locale,
        "state": reservation.state,
        "total": reservation.total,
        "currency": reservation.currency,
        "created_at": reservation.created_at.isoformat(),
        "history": [
            {"at": e.at.isoformat(), "state": e.to_state, "note": e.note}
            for e in events
            if e.reservation_id == reservation.id
        ],
        "messages": [
            {"kind": m.kind, "state": m.state, "due_at": m.due_at.isoformat()}
            for m in messages
            if m.reservation_id == reservation.id
        ],
    }


def export_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
