"""Routers the channel tests build their bots with."""

from __future__ import annotations

import asyncio

from actions.services import Services
from bot import Context, Outcome, Router
from bot.core.types import STAFF


def staff_router() -> Router[Services]:
    """One staff-only intent, as a forecast or refund approval is, and one that takes a while
    (``slow_report``), for what a channel shows during a long turn; consulted before the
    capabilities' routers."""
    kept: Router[Services] = Router("staff")

    @kept.intent("ops_report", roles=STAFF)
    async def report(context: Context[Services]) -> Outcome:
        return Outcome("smalltalk/thanks")

    @kept.intent("slow_report")
    async def slow(context: Context[Services]) -> Outcome:
        await asyncio.sleep(0.4)
        return Outcome("smalltalk/thanks")

    return kept
