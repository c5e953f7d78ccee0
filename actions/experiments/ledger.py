"""The experiment ledger in the database: first exposures, goal events and decisions.

Every write is an insert that a unique constraint makes idempotent (``ON CONFLICT DO
NOTHING``): two workers exposing the same user at once keep one variant, an event reported
twice counts once, and only one process records a decision (and so alerts the staff). Goal
events that a turn does not wait for (a reply, an out-of-scope answer) are counted together
within ``SOON_SECONDS`` (``bot.core.batch``); reading the counts counts them first. First
exposures, which a turn waits for, are written together with those that arrive meanwhile.
On PostgreSQL each unit of work's statements run once whatever its rows, and read the same for
one row or many (``bot.stores.database.insert_rows`` and ``one_of``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from actions.experiments.tables import ConversionRecord, DecisionRecord, ExposureRecord
from bot.core.batch import Batch, Together
from bot.core.experiments import ExperimentLedger, GoalOccurrence
from bot.stores.database import Database, as_utc, insert_rows, one_of

SOON_SECONDS = 0.5
EXPOSURES = cast(Table, ExposureRecord.__table__)
CONVERSIONS = cast(Table, ConversionRecord.__table__)
SUBJECT = ("experiment", "version", "subject")
"""A user in an experiment's version: one exposure each, and one conversion per event."""
Attribution = tuple[GoalOccurrence, Mapping[str, float]]


def split_key(experiment_key: str) -> tuple[str, str]:
    name, _, version = experiment_key.partition("@")
    return name, version


@dataclass(frozen=True, slots=True)
class ExposureRow:
    variant: str
    subject: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ConversionRow:
    variant: str
    subject: str
    event: str
    value: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    winner: str
    decided_by: str
    figures: dict[str, Any]
    decided_at: datetime


class SqlLedger(ExperimentLedger):
    def __init__(self, database: Database, soon_seconds: float = SOON_SECONDS) -> None:
        self._database = database
        self._insert = sqlite_insert if database.is_sqlite else pg_insert
        self._soon = Batch(self._count, soon_seconds)
        self._exposed: Together[dict[str, Any], str] = Together(self._expose_all)

    async def expose(
        self, experiment_key: str, variant: str, subject: str, conversation: str, at: datetime
    ) -> str:
        name, version = split_key(experiment_key)
        row = {
            "experiment": name,
            "version": version,
            "variant": variant,
            "subject": subject,
            "conversation": conversation,
            "first_at": at.astimezone(UTC),
        }
        return await self._exposed(row)

    async def _expose_all(self, rows: list[dict[str, Any]]) -> list[str]:
        """The variant kept for each row's subject: its own, or one written before it."""
        subjects = [{name: row[name] for name in SUBJECT} for row in rows]
        async with self._database.session() as session:
            await insert_rows(session, EXPOSURES, rows, unless_taken=SUBJECT)
            found = await session.execute(
                select(
                    EXPOSURES.c.experiment,
                    EXPOSURES.c.version,
                    EXPOSURES.c.subject,
                    EXPOSURES.c.variant,
                ).where(one_of(session, EXPOSURES, subjects))
            )
            kept = {(name, version, subject): variant for name, version, subject, variant in found}
        return [
            kept.get((row["experiment"], row["version"], row["subject"]), row["variant"])
            for row in rows
        ]

    async def attribute(self, occurred: GoalOccurrence, windows: Mapping[str, float]) -> int:
        await self._soon.flush()
        return await self._attribute_all([(occurred, windows)])

    def attribute_soon(self, occurred: GoalOccurrence, windows: Mapping[str, float]) -> None:
        self._soon.add((occurred, windows))

    async def close(self) -> None:
        await self._exposed.close()
        await self._soon.close()

    async def _count(self, attributions: list[Attribution]) -> None:
        await self._attribute_all(attributions)

    async def _attribute_all(self, attributions: Sequence[Attribution]) -> int:
        conversations = [
            {"conversation": conversation}
            for conversation in {occurred.conversation for occurred, _ in attributions}
        ]
        async with self._database.session() as session:
            exposed: dict[str, list[ExposureRecord]] = defaultdict(list)
            for exposure in await session.scalars(
                select(ExposureRecord).where(one_of(session, EXPOSURES, conversations))
            ):
                exposed[exposure.conversation].append(exposure)
            rows = [
                {
                    "experiment": exposure.experiment,
                    "version": exposure.version,
                    "variant": exposure.variant,
                    "subject": exposure.subject,
                    "event": occurred.event,
                    "value": occurred.value,
                    "at": occurred.at.astimezone(UTC),
                }
                for occurred, windows in attributions
                for exposure in exposed[occurred.conversation]
                if _within(exposure, occurred.at, windows)
            ]
            return await insert_rows(
                session,
                CONVERSIONS,
                rows,
                unless_taken=(*SUBJECT, "event"),
            )

    async def exposures(self, experiment_key: str) -> list[ExposureRow]:
        name, version = split_key(experiment_key)
        async with self._database.session() as session:
            rows = await session.execute(
                select(ExposureRecord.variant, ExposureRecord.subject, ExposureRecord.first_at)
                .where(ExposureRecord.experiment == name, ExposureRecord.version == version)
                .order_by(ExposureRecord.first_at)
            )
            return [ExposureRow(variant, subject, as_utc(at)) for variant, subject, at in rows]

    async def conversions(self, experiment_key: str) -> list[ConversionRow]:
        await self._soon.flush()
        name, version = split_key(experiment_key)
        async with self._database.session() as session:
            rows = await session.execute(
                select(
                    ConversionRecord.variant,
                    ConversionRecord.subject,
                    ConversionRecord.event,
                    ConversionRecord.value,
                    ConversionRecord.at,
                )
                .where(ConversionRecord.experiment == name, ConversionRecord.version == version)
                .order_by(ConversionRecord.at)
            )
            return [ConversionRow(v, s, e, value, as_utc(at)) for v, s, e, value, at in rows]

    async def decide(
        self,
        experiment_key: str,
        winner: str,
        decided_by: str,
        figures: dict[str, Any],
        at: datetime,
    ) -> bool:
        """Record the decision; False when one was recorded already (by another process)."""
        name, version = split_key(experiment_key)
        row = {
            "experiment": name,
            "version": version,
            "winner": winner,
            "decided_by": decided_by,
            "figures": figures,
            "decided_at": at.astimezone(UTC),
        }
        statement = self._insert(DecisionRecord).on_conflict_do_nothing(
            index_elements=["experiment", "version"]
        )
        async with self._database.session() as session:
            result = await session.execute(statement.returning(DecisionRecord.id), [row])
            return bool(result.all())

    async def decisions(self, experiment_keys: Sequence[str]) -> dict[str, Decision]:
        wanted = {split_key(key): key for key in experiment_keys}
        if not wanted:
            return {}
        names = sorted({name for name, _ in wanted})
        async with self._database.session() as session:
            records = (
                await session.execute(
                    select(DecisionRecord).where(DecisionRecord.experiment.in_(names))
                )
            ).scalars()
            return {
                wanted[(record.experiment, record.version)]: Decision(
                    record.winner, record.decided_by, record.figures, as_utc(record.decided_at)
                )
                for record in records
                if (record.experiment, record.version) in wanted
            }


def _within(exposure: ExposureRecord, at: datetime, windows: Mapping[str, float]) -> bool:
    """Seen before ``at``, within the experiment's attribution window."""
    hours = windows.get(f"{exposure.experiment}@{exposure.version}")
    since = at - as_utc(exposure.first_at)
    return hours is not None and timedelta(0) < since <= timedelta(hours=hours)
