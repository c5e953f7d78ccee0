"""Short lines that other capabilities add to the offers for a stay (the weather for the dates):
each one best effort, within its own time limit. A line that fails or comes late is left out
and logged; the offers never wait longer than the slowest limit, and never fail for a line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date

import structlog

log = structlog.get_logger("rsv360.booking")

StayNote = Callable[[str, date, date, str], Awaitable[str | None]]
"""(property slug, check-in, check-out, locale) → a line in that locale, or None."""


class StayNotes:
    def __init__(self) -> None:
        self._sources: list[tuple[StayNote, float]] = []

    def add(self, source: StayNote, timeout_seconds: float) -> None:
        self._sources.append((source, timeout_seconds))

    async def lines(self, slug: str, check_in: date, check_out: date, locale: str) -> list[str]:
        found = await asyncio.gather(
            *(
                self._one(source, timeout, slug, check_in, check_out, locale)
                for source, timeout in self._sources
            )
        )
        return [line for line in found if line]

    async def _one(
        self,
        source: StayNote,
        limit_seconds: float,
        slug: str,
        check_in: date,
        check_out: date,
        locale: str,
    ) -> str | None:
        try:
            return await asyncio.wait_for(source(slug, check_in, check_out, locale), limit_seconds)
        except Exception:  # a note is a nicety: whatever went wrong, the offers go on
            log.warning("stay_note_left_out", property=slug, exc_info=True)
            return None
