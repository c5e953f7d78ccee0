"""The experiment ledger in the database: first exposures, goal events and decisions.

Every write is an insert that a unique constraint makes idempotent (``ON CONFLICT DO
NOTHING``): two workers exposing the same user at once keep one variant, an event reported
twice counts once, and only one process records a decision (and so alerts the staff).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from actions.experiments.tables import ConversionRecord, DecisionRecord, ExposureRecord
from bot.core.experiments import ExperimentLedger
from bot.stores.database import Database


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
    def __init__(self, database: Database) -> None:
        self._database = database
        self._insert = sqlite_insert if database.is_sqlite else pg_insert

    async def variant_of(self, experiment_key: str, subject: str) -> str | None:
        name, version = split_key(experiment_key)
        async with self._database.session() as session:
            return await session.scalar(
                select(ExposureRecord.variant).where(
                    ExposureRecord.experiment == name,
                    ExposureRecord.version == version,
                    ExposureRecord.subject == subject,
                )
            )

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
        statement = self._insert(ExposureRecord).on_conflict_do_nothing(
            index_elements=["experiment", "version", "subject"]
        )
        async with self._database.session() as session:
            await session.execute(statement, [row])
        return await self.variant_of(experiment_key, subject) or variant

    async def attribute(
        self, conversation: str, event: str, at: datetime, value: int, windows: Mapping[str, float]
    ) -> int:
        at = at.astimezone(UTC)
        async with self._database.session() as session:
            exposures = (
                await session.execute(
                    select(ExposureRecord).where(
                        ExposureRecord.conversation == conversation, ExposureRecord.first_at < at
                    )
                )
            ).scalars()
            rows = [
                {
                    "experiment": exposure.experiment,
                    "version": exposure.version,
                    "variant": exposure.variant,
                    "subject": exposure.subject,
                    "event": event,
                    "value": value,
                    "at": at,
                }
                for exposure in exposures
                if _within(exposure, at, windows)
            ]
            if not rows:
                return 0
            statement = self._insert(ConversionRecord).on_conflict_do_nothing(
                index_elements=["experiment", "version", "subject", "event"]
            )
            result = await session.execute(statement.returning(ConversionRecord.id), rows)
            return len(result.all())

    async def exposures(self, experiment_key: str) -> list[ExposureRow]:
        name, version = split_key(experiment_key)
        async with self._database.session() as session:
            rows = await session.execute(
                select(ExposureRecord.variant, ExposureRecord.subject, ExposureRecord.first_at)
                .where(ExposureRecord.experiment == name, ExposureRecord.version == version)
                .order_by(ExposureRecord.first_at)
            )
            return [ExposureRow(variant, subject, _utc(at)) for variant, subject, at in rows]

    async def conversions(self, experiment_key: str) -> list[ConversionRow]:
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
            return [ConversionRow(v, s, e, value, _utc(at)) for v, s, e, value, at in rows]

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
                    record.winner, record.decided_by, record.figures, _utc(record.decided_at)
                )
                for record in records
                if (record.experiment, record.version) in wanted
            }


def _within(exposure: ExposureRecord, at: datetime, windows: Mapping[str, float]) -> bool:
    hours = windows.get(f"{exposure.experiment}@{exposure.version}")
    return hours is not None and at - _utc(exposure.first_at) <= timedelta(hours=hours)


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes of what was stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
