"""Goal events: what already happens (a hold, a payment, a handoff, an out-of-scope reply, a
guest's answer) counted for the experiments the user saw.

Capabilities reach ``GoalEvents`` through their services (``context.services.get(GoalEvents)``)
and report what happened in a conversation; the engine reports the guest's replies itself
(``ReplyGoal``). An event counts for every running experiment version the user was exposed to
before it, within that experiment's attribution window, once per user and event. Recording
never fails the caller: a hold or a payment stands even when the ledger is down.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import structlog

from bot.core.context import Turn
from bot.core.experiment_file import Experiment
from bot.core.experiments import ExperimentLedger, GoalOccurrence
from bot.core.observability import pseudonym
from bot.core.pipeline import Next
from bot.core.types import TurnResult

log = structlog.get_logger("rsv360.experiments")

GoalEvent = Literal["booking_held", "booking_paid", "handoff", "out_of_scope", "replied"]
EVENTS: tuple[GoalEvent, ...] = (
    "booking_held",
    "booking_paid",
    "handoff",
    "out_of_scope",
    "replied",
)
REPLIED_MARK = "experiments_replied"
"""Session data: the experiment versions the guest's reply was already counted for."""


class GoalEvents:
    def __init__(self, experiments: list[Experiment], ledger: ExperimentLedger) -> None:
        self._ledger = ledger
        self.replace(experiments)

    def replace(self, experiments: list[Experiment]) -> None:
        """Attribute goals to ``experiments`` from now on (the experiments setting changed)."""
        self._windows = {
            experiment.key: experiment.attribution_hours
            for experiment in experiments
            if experiment.status == "running"
        }

    async def record(
        self, channel: str, conversation_id: str, event: GoalEvent, at: datetime, value: int = 0
    ) -> int:
        """Count ``event`` (``value``: the amount paid, in cents) for the conversation's user;
        returns how many experiment versions counted it (0 when recording failed)."""
        if not self._windows:
            return 0
        occurred = GoalOccurrence(pseudonym(f"{channel}:{conversation_id}"), event, at, value)
        try:
            return await self._ledger.attribute(occurred, self._windows)
        except Exception:
            log.exception("goal_event_failed", goal_event=event, conversation=occurred.conversation)
            return 0

    def note(self, channel: str, conversation_id: str, event: GoalEvent, at: datetime) -> None:
        """Count ``event`` within a moment, with others: for a turn that need not wait."""
        if self._windows:
            occurred = GoalOccurrence(pseudonym(f"{channel}:{conversation_id}"), event, at)
            self._ledger.attribute_soon(occurred, self._windows)


class ReplyGoal:
    """A pipeline step after ``Order`` (which loads the session): a guest writing after an
    exposure is ``replied``, counted once per experiment version (the session remembers which
    ones were counted, so most turns cost nothing)."""

    def __init__(self, goals: GoalEvents) -> None:
        self._goals = goals

    async def __call__(self, turn: Turn, call_next: Next) -> TurnResult:
        session = turn.session
        if session is not None and turn.message.role == "guest":
            counted = set(session.data.get(REPLIED_MARK, ()))
            if set(session.experiments) - counted:
                message = turn.message
                self._goals.note(
                    message.channel, message.conversation_id, "replied", turn.received_at
                )
                session.data[REPLIED_MARK] = sorted(counted | set(session.experiments))
        return await call_next(turn)
