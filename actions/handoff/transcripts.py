"""What guests and the team said in each guest conversation, kept in the database for the
staff console: the conversation (channel, language, last line) and its lines.

The ``Transcribe`` pipeline step notes a guest's message before the turn and the bot's replies
after it; noted lines are written together, in one transaction, within ``FLUSH_SECONDS``
(one transaction per line cost a turn about five times its CPU). Everything that reads or erases
transcripts in this process writes what is noted first; other processes see it within
``FLUSH_SECONDS``. The handoff desk writes what a person of the team sent at once. A failed
write is logged and leaves the turn alone: a transcript is a record, never a reason not to
answer. Replies are kept as plain text (an HTML channel's markup is taken out). Personal data:
the privacy capability copies, erases and purges transcripts with the rest
(``actions.privacy.records``).
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, Select, Table, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actions.handoff.tables import ConversationRecord, TranscriptLine
from bot.core.batch import Batch
from bot.core.clock import Now
from bot.core.context import Turn
from bot.core.pipeline import Next
from bot.core.types import STAFF, TurnResult
from bot.stores.database import Database, insert_rows, one_of, update_rows

Role = Literal["guest", "bot", "staff"]
PREVIEW_CHARS = 120
MAX_LINE_CHARS = 4000
TAG = re.compile(r"<[^>]*>")
FLUSH_SECONDS = 0.5
"""How long a noted line may wait to be written with others: the console's live pages refresh
every few seconds, so half a second is not seen, and at hundreds of turns a second one
transaction carries hundreds of lines."""


@dataclass(frozen=True, slots=True)
class Said:
    role: Role
    text: str | None
    """None: the guest pressed a button."""
    author: str | None = None
    """Who of the team said a ``staff`` line."""


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    channel: str
    conversation_id: str
    locale: str
    started_at: datetime
    last_at: datetime
    last_role: str
    last_text: str | None
    lines: int

    @property
    def key(self) -> str:
        """``channel:conversation_id``, as sessions and handoffs name the conversation."""
        return f"{self.channel}:{self.conversation_id}"


@dataclass(frozen=True, slots=True)
class Line:
    at: datetime
    role: str
    author: str | None
    text: str | None


@dataclass(frozen=True, slots=True)
class _Noted:
    channel: str
    conversation_id: str
    said: tuple[Said, ...]
    locale: str | None
    at: datetime
    create: bool


CONVERSATIONS = cast(Table, ConversationRecord.__table__)
LINES = cast(Table, TranscriptLine.__table__)


def _followed(given: Mapping[str, ColumnElement[Any]]) -> dict[str, object]:
    """A conversation's summary after its new lines (``given``: how many, the last one's)."""
    return {
        "lines": CONVERSATIONS.c.lines + given["lines"],
        "last_at": given["last_at"],
        "last_role": given["last_role"],
        "last_text": given["last_text"],
        "locale": func.coalesce(given["locale"], CONVERSATIONS.c.locale),
    }


def _key(one: _Noted) -> tuple[str, str]:
    return one.channel[:20], one.conversation_id[:128]


async def _conversation_ids(
    session: AsyncSession, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    # Locked in id order, so that two processes writing overlapping batches never deadlock.
    found = await session.execute(
        select(CONVERSATIONS.c.channel, CONVERSATIONS.c.conversation_id, CONVERSATIONS.c.id)
        .where(
            one_of(
                session,
                CONVERSATIONS,
                [{"channel": channel, "conversation_id": id_} for channel, id_ in keys],
            )
        )
        .order_by(CONVERSATIONS.c.id)
        .with_for_update()
    )
    return {(channel, conversation_id): id_ for channel, conversation_id, id_ in found}


class Transcripts:
    def __init__(
        self,
        database: Database,
        now: Now,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self._database = database
        self._now = now
        self._noted = Batch(self._write, flush_seconds)

    def note(
        self,
        channel: str,
        conversation_id: str,
        said: Sequence[Said],
        *,
        locale: str | None = None,
        at: datetime | None = None,
        create: bool = True,
    ) -> None:
        """Add lines to the conversation's transcript soon (begun when ``create``; otherwise a
        conversation erased meanwhile stays erased), at ``at`` or now."""
        if not said:
            return
        moment = (at or self._now()).astimezone(UTC)
        self._noted.add(_Noted(channel, conversation_id, tuple(said), locale, moment, create))

    async def record(
        self,
        channel: str,
        conversation_id: str,
        said: Sequence[Said],
        *,
        locale: str | None = None,
        at: datetime | None = None,
        create: bool = True,
    ) -> None:
        """Add lines now (after the lines noted before them)."""
        self.note(channel, conversation_id, said, locale=locale, at=at, create=create)
        await self.flush()

    async def flush(self) -> None:
        """Write the noted lines."""
        await self._noted.flush()

    async def close(self) -> None:
        """Write what is noted (at shutdown)."""
        await self._noted.close()

    async def _write(self, noted: Sequence[_Noted]) -> None:
        for attempt in range(2):
            try:
                async with self._database.session() as session:
                    await self._append(session, noted)
                return
            except IntegrityError:
                if attempt:  # another process began the conversation; now it is found
                    raise

    async def _append(self, session: AsyncSession, noted: Sequence[_Noted]) -> None:
        """Five statements whatever the batch holds: under load every round trip to the
        database waits for a turn of the busy event loop, and one INSERT and one UPDATE per
        conversation held SQLite's one writer for 16 s when a hundred guests arrived at once."""
        keys = {_key(one) for one in noted}
        ids = await _conversation_ids(session, keys)
        begun: dict[tuple[str, str], _Noted] = {}
        for one in noted:
            if one.create and _key(one) not in ids:
                begun.setdefault(_key(one), one)
        if begun:
            await insert_rows(
                session,
                CONVERSATIONS,
                [
                    {
                        "channel": channel,
                        "conversation_id": conversation_id,
                        "locale": (one.locale or "")[:8],
                        "started_at": one.at,
                        "last_at": one.at,
                        "last_role": one.said[-1].role,
                        "lines": 0,
                    }
                    for (channel, conversation_id), one in begun.items()
                ],
            )
            ids |= await _conversation_ids(session, set(begun))
        lines: list[dict[str, object]] = []
        added: Counter[int] = Counter()
        latest: dict[int, dict[str, object]] = {}
        for one in noted:
            conversation = ids.get(_key(one))
            if conversation is None:  # erased meanwhile, and not to be begun again
                continue
            lines.extend(
                {
                    "conversation": conversation,
                    "at": one.at,
                    "role": line.role,
                    "author": None if line.author is None else line.author[:254],
                    "text": None if line.text is None else line.text[:MAX_LINE_CHARS],
                }
                for line in one.said
            )
            added[conversation] += len(one.said)
            last = one.said[-1]
            locale = one.locale[:8] if one.locale else latest.get(conversation, {}).get("locale")
            latest[conversation] = {
                "id": conversation,
                "last_at": one.at,
                "last_role": last.role,
                "last_text": None if last.text is None else preview(last.text),
                "locale": locale,
            }
        if lines:
            await insert_rows(session, LINES, lines)
        followed = [{**row, "lines": added[id_]} for id_, row in latest.items()]
        await update_rows(session, CONVERSATIONS, followed, _followed)

    async def page(self, number: int, size: int) -> tuple[list[Conversation], bool]:
        """Page ``number`` (from 1) of the conversations, the latest line first, and whether
        an older page follows."""
        await self.flush()
        async with self._database.session() as session:
            rows = await session.scalars(
                select(ConversationRecord)
                .order_by(ConversationRecord.last_at.desc(), ConversationRecord.id.desc())
                .offset((number - 1) * size)
                .limit(size + 1)
            )
            found = [_conversation(row) for row in rows]
        return found[:size], len(found) > size

    async def conversation(self, conversation: int) -> Conversation | None:
        await self.flush()
        async with self._database.session() as session:
            row = await session.get(ConversationRecord, conversation)
            return None if row is None else _conversation(row)

    async def find(self, channel: str, conversation_id: str) -> Conversation | None:
        await self.flush()
        async with self._database.session() as session:
            row = await session.scalar(_of(channel, conversation_id))
            return None if row is None else _conversation(row)

    async def lines(self, conversation: int, newest: int | None = None) -> list[Line]:
        """The conversation's newest ``newest`` lines (every line: None), oldest first."""
        await self.flush()
        async with self._database.session() as session:
            rows = await session.scalars(
                select(TranscriptLine)
                .where(TranscriptLine.conversation == conversation)
                .order_by(TranscriptLine.id.desc())
                .limit(newest)
            )
            found = [Line(_aware(r.at), r.role, r.author, r.text) for r in rows]
        return found[::-1]

    async def forget(self, channel: str, conversation_id: str) -> int:
        """Erase the conversation's transcript; the number of lines erased."""
        await self.flush()
        async with self._database.session() as session:
            row = await session.scalar(_of(channel, conversation_id))
            if row is None:
                return 0
            await session.execute(
                delete(TranscriptLine).where(TranscriptLine.conversation == row.id)
            )
            await session.delete(row)
            return row.lines

    async def purge(self, before: datetime) -> int:
        """Erase the conversations whose last line is older than ``before``; how many."""
        await self.flush()
        async with self._database.session() as session:
            stale = select(ConversationRecord.id).where(ConversationRecord.last_at < before)
            await session.execute(
                delete(TranscriptLine).where(TranscriptLine.conversation.in_(stale))
            )
            removed = await session.execute(
                delete(ConversationRecord).where(ConversationRecord.last_at < before)
            )
            return int(removed.rowcount or 0)  # type: ignore[attr-defined]

    async def count(self) -> int:
        await self.flush()
        async with self._database.session() as session:
            return int(await session.scalar(select(func.count(ConversationRecord.id))) or 0)


def _of(channel: str, conversation_id: str) -> Select[ConversationRecord]:
    return select(ConversationRecord).where(
        ConversationRecord.channel == channel,
        ConversationRecord.conversation_id == conversation_id,
    )


def preview(text: str) -> str:
    """The start of a line, on one line, for the list."""
    flat = " ".join(text.split())
    return (
        flat
        if len(flat) <= PREVIEW_CHARS
        else flat[: PREVIEW_CHARS - 1] + "\N{HORIZONTAL ELLIPSIS}"
    )


def plain_text(markup: str) -> str:
    """An HTML reply as the guest read it: tags out, entities back to characters."""
    return html.unescape(TAG.sub("", markup.replace("<br>", "\n")))


def _conversation(row: ConversationRecord) -> Conversation:
    return Conversation(
        row.id,
        row.channel,
        row.conversation_id,
        row.locale,
        _aware(row.started_at),
        _aware(row.last_at),
        row.last_role,
        row.last_text,
        row.lines,
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Transcribe:
    """Pipeline step (after the session is loaded, before the handoff's relay): a guest's
    message goes into the transcript before the turn, the bot's replies after it. Staff
    messages are not guests' conversations and are left out."""

    def __init__(self, transcripts: Transcripts, html_channels: frozenset[str]) -> None:
        self._transcripts = transcripts
        self._html_channels = html_channels

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        message = turn.message
        if message.role in STAFF:
            return await call_next(turn)
        locale = turn.session.locale if turn.session is not None else None
        transcripts = self._transcripts
        heard = Said("guest", message.text)
        transcripts.note(
            message.channel, message.conversation_id, [heard], locale=locale, at=turn.received_at
        )
        result = await call_next(turn)
        html_replies = message.channel in self._html_channels
        said = [
            Said("bot", plain_text(reply.text) if html_replies else reply.text)
            for reply in result.replies
        ]
        # Not begun anew: a guest who has just erased their data stays erased.
        transcripts.note(
            message.channel, message.conversation_id, said, locale=locale, create=False
        )
        return result
