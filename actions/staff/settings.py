"""The settings an admin changes in the console (rate limits, experiments, each property's
knowledge and price limits, alert routes): checked by their owners' parsers before saving,
stored as revisions (``setting_revisions``), applied at once in the saving process and within a
refresh in every other one, and audited with a diff. The repo's files remain the defaults.

The desk knows each setting as a ``Setting``: its name, its default file, the owner's parser
and how to apply a value. The composition root builds them (``bot/root/live_settings.py``).
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import func, select

from actions.staff.accounts import StaffDirectory
from actions.staff.tables import SettingRevision
from bot.core.clock import Now
from bot.core.documents import MAX_DOCUMENT_CHARS, DocumentError
from bot.stores.database import Database

log = structlog.get_logger("rsv360.settings")

HISTORY_LENGTH = 10
NAME_CHARS = 100


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    """``rate_limits``, ``experiments``, ``knowledge/<slug>``, ``pricing/<slug>``,
    ``alert_routes``."""
    default_file: Path | None
    """The repo's file that is the default; None when there is none (alert routes without a
    routing file: the ``RSV_ALERTS_*`` settings decide)."""
    parse: Callable[[str], Any]
    """The owner's parser: a document's text to its value; raises ``DocumentError``."""
    apply: Callable[[Any], None]
    """Makes a parsed value live in this process; None: back to the repo's default."""
    check: Callable[[Any], Awaitable[None]] | None = None
    """A check of a parsed value against what only I/O tells (the catalog's room types), made
    before saving; raises ``DocumentError``."""

    def default_text(self) -> str:
        if self.default_file is None or not self.default_file.is_file():
            return ""
        return self.default_file.read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Change:
    """One save, with what it changed (a unified diff of the documents, before → after)."""

    revision: int
    changed_by: str
    changed_at: datetime
    reset: bool
    diff: str


@dataclass(frozen=True, slots=True)
class SettingState:
    name: str
    default_file: Path | None
    document: str
    """The current document: the saved override, else the default file's text."""
    changed_by: str | None
    """Who saved the override in force; None when the default is."""
    changed_at: datetime | None

    @property
    def overridden(self) -> bool:
        return self.changed_by is not None


class UnknownSetting(LookupError):
    pass


class SettingsDesk:
    def __init__(
        self,
        database: Database,
        directory: StaffDirectory,
        settings: Sequence[Setting],
        now: Now,
    ) -> None:
        self._database = database
        self._directory = directory
        self._settings = {setting.name: setting for setting in settings}
        self._now = now
        self._applied: dict[str, int] = {}
        """The revision each setting last applied in this process."""

    def setting(self, name: str) -> Setting:
        found = self._settings.get(name)
        if found is None:
            raise UnknownSetting(name)
        return found

    async def overview(self) -> list[SettingState]:
        """Every setting, in name order, with the override in force."""
        latest = await self._latest()
        return [
            _state(setting, latest.get(name)) for name, setting in sorted(self._settings.items())
        ]

    async def state(self, name: str) -> SettingState:
        setting = self.setting(name)
        async with self._database.session() as session:
            row = await session.scalar(
                select(SettingRevision)
                .where(SettingRevision.name == name)
                .order_by(SettingRevision.id.desc())
                .limit(1)
            )
        return _state(setting, row)

    async def save(self, name: str, text: str, actor: str, address: str | None) -> int:
        """Check ``text`` with the owner's parser, store it, apply it here, audit it; returns
        the revision. ``DocumentError`` (nothing stored) names what is wrong."""
        setting = self.setting(name)
        if len(text) > MAX_DOCUMENT_CHARS:
            raise DocumentError("", f"the document is over {MAX_DOCUMENT_CHARS // 1024} KiB")
        value = setting.parse(text)
        if setting.check is not None:
            await setting.check(value)
        revision = await self._store(name, text, actor)
        self._apply(setting, value, revision)
        await self._directory.record(actor, "setting_saved", name, address, revision=revision)
        return revision

    async def reset(self, name: str, actor: str, address: str | None) -> int | None:
        """Back to the repo's default (stored, applied here, audited); None when it already
        was the default (nothing stored)."""
        setting = self.setting(name)
        if not (await self.state(name)).overridden:
            return None
        revision = await self._store(name, None, actor)
        self._apply(setting, None, revision)
        await self._directory.record(actor, "setting_reset", name, address, revision=revision)
        return revision

    async def history(self, name: str, limit: int = HISTORY_LENGTH) -> list[Change]:
        """The latest ``limit`` saves, newest first, each with its diff from the one before."""
        setting = self.setting(name)
        async with self._database.session() as session:
            rows = list(
                await session.scalars(
                    select(SettingRevision)
                    .where(SettingRevision.name == name)
                    .order_by(SettingRevision.id.desc())
                    .limit(limit + 1)
                )
            )
        default = setting.default_text()
        changes = []
        for index, row in enumerate(rows[:limit]):
            before = rows[index + 1].document if index + 1 < len(rows) else None
            changes.append(
                Change(
                    row.id,
                    row.changed_by,
                    _aware(row.changed_at),
                    row.document is None,
                    _diff(before if before is not None else default, row.document or default),
                )
            )
        return changes

    async def refresh(self) -> list[str]:
        """Apply what another process saved since the last look; returns the names applied.
        A failed read keeps every value; a stored document that no longer checks keeps the last
        good one and is logged (once); each setting is applied apart from the others."""
        try:
            latest = await self._latest()
        except Exception:
            log.exception("settings_refresh_failed")
            return []
        applied = []
        for name, row in latest.items():
            setting = self._settings.get(name)
            if setting is None or self._applied.get(name) == row.id:
                continue
            try:
                value = setting.parse(row.document) if row.document is not None else None
                self._apply(setting, value, row.id)
            except Exception:
                self._applied[name] = row.id  # the same revision fails the same way: log once
                log.exception("setting_not_applied", setting=name, revision=row.id)
                continue
            applied.append(name)
        return applied

    def _apply(self, setting: Setting, value: Any, revision: int) -> None:
        setting.apply(value)
        self._applied[setting.name] = revision
        log.info("setting_applied", setting=setting.name, revision=revision)

    async def _store(self, name: str, document: str | None, actor: str) -> int:
        async with self._database.session() as session:
            row = SettingRevision(
                name=name,
                document=document,
                changed_by=actor,
                changed_at=self._now().astimezone(UTC),  # SQLite keeps no offset: UTC it is
            )
            session.add(row)
            await session.flush()
            return row.id

    async def _latest(self) -> dict[str, SettingRevision]:
        """Each setting's latest revision."""
        async with self._database.session() as session:
            newest = select(func.max(SettingRevision.id)).group_by(SettingRevision.name)
            rows = await session.scalars(
                select(SettingRevision).where(SettingRevision.id.in_(newest))
            )
            return {row.name: row for row in rows}


def _state(setting: Setting, row: SettingRevision | None) -> SettingState:
    if row is None or row.document is None:
        return SettingState(setting.name, setting.default_file, setting.default_text(), None, None)
    return SettingState(
        setting.name, setting.default_file, row.document, row.changed_by, _aware(row.changed_at)
    )


def _diff(before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        "before",
        "after",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive times; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
