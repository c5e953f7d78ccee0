"""The experiments desk: the report of each experiment, and the allocation job that shifts new
users towards the better variants and stops an experiment when the stopping rule holds.

The job runs every ``reallocate_seconds`` (the shortest of the file) on the process holding
the schedule; what it decides is published where every worker reads it
(``Experiments.publish``). Each experiment is handled on its own: one that fails is logged and
the others go on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from actions.experiments.analysis import (
    SampleRatio,
    VariantFigures,
    as_json,
    figures,
    leader,
    sample_ratio,
    tallies,
    thompson_weights,
)
from actions.experiments.ledger import Decision, SqlLedger
from bot.core.experiment_file import Experiment
from bot.core.experiments import Allocation, Experiments, allocation_key
from bot.stores.base import ValueStore

log = structlog.get_logger("rsv360.experiments")

DECIDED_TTL = 90 * 86_400
StopNotice = Callable[[Experiment, str, list[VariantFigures]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Report:
    experiment: Experiment
    goals: dict[str, list[VariantFigures]]
    sample_ratio: SampleRatio | None
    decision: Decision | None

    def as_json(self) -> dict[str, object]:
        ratio = self.sample_ratio
        return {
            "experiment": self.experiment.name,
            "version": self.experiment.version,
            "allocation": self.experiment.allocation,
            "status": "stopped"
            if self.decision or self.experiment.status == "stopped"
            else "running",
            "winner": self.decision.winner if self.decision else self.experiment.winner,
            "goals": {goal: as_json(found) for goal, found in self.goals.items()},
            "sample_ratio": None
            if ratio is None
            else {"chi2": ratio.chi2, "p_value": ratio.p_value, "mismatch": ratio.mismatch},
        }


def seed_of(experiment: Experiment) -> int:
    """The same figures for the same data: the draws are seeded by the experiment version."""
    return int.from_bytes(hashlib.sha256(experiment.key.encode()).digest()[:4], "big")


async def build_report(ledger: SqlLedger, experiment: Experiment, now: datetime) -> Report:
    """Every goal's figures as of ``now``, the split check and the decision, if any."""
    exposures = await ledger.exposures(experiment.key)
    conversions = await ledger.conversions(experiment.key)
    variants = list(experiment.variants)
    goals = {
        goal: figures(
            tallies(exposures, conversions, goal, experiment.attribution_hours, now, variants),
            seed_of(experiment),
        )
        for goal in experiment.goals
    }
    ratio = None  # Thompson moves the split on purpose: there is no split to check
    if experiment.allocation == "fixed":
        users = {variant: sum(row.variant == variant for row in exposures) for variant in variants}
        ratio = sample_ratio(users, experiment.weights)
    decisions = await ledger.decisions([experiment.key])
    return Report(experiment, goals, ratio, decisions.get(experiment.key))


class ExperimentDesk:
    def __init__(
        self,
        experiments: Experiments,
        ledger: SqlLedger,
        streaks: ValueStore,
        on_stop: StopNotice,
    ) -> None:
        self.experiments = experiments
        self.ledger = ledger
        self._streaks = streaks
        self._on_stop = on_stop

    async def report(self, experiment: Experiment, now: datetime) -> Report:
        return await build_report(self.ledger, experiment, now)

    async def optimise(self, now: datetime) -> int:
        """One allocation run over every running experiment; returns how many it stopped."""
        stopped = 0
        decisions = await self.ledger.decisions([e.key for e in self.experiments.declared])
        for experiment in self.experiments.declared:
            if experiment.status != "running":
                continue
            try:
                stopped += await self._optimise(experiment, decisions.get(experiment.key), now)
            except Exception:
                log.exception("experiment_allocation_failed", experiment=experiment.key)
        return stopped

    async def _optimise(
        self, experiment: Experiment, decision: Decision | None, now: datetime
    ) -> int:
        if decision is not None:
            await self.experiments.publish(
                experiment, Allocation(experiment.weights, decision.winner), DECIDED_TTL
            )
            return 0
        report = await self.report(experiment, now)
        found = report.goals[experiment.goals[0]]
        winner = await self._streak(experiment, leader(found, experiment.stopping))
        if winner is not None:
            figures_kept = {"goal": experiment.goals[0], "variants": as_json(found)}
            if await self.ledger.decide(experiment.key, winner, "stopping_rule", figures_kept, now):
                await self.experiments.publish(
                    experiment, Allocation(experiment.weights, winner), DECIDED_TTL
                )
                log.info("experiment_stopped", experiment=experiment.key, winner=winner)
                await self._on_stop(experiment, winner, found)
                return 1
            return 0
        if experiment.allocation == "thompson":
            weights = thompson_weights(found, experiment.min_share)
            await self.experiments.publish(
                experiment, Allocation(weights), experiment.reallocate_seconds * 4
            )
        return 0

    async def _streak(self, experiment: Experiment, leading: str | None) -> str | None:
        """The leader once it has led ``stopping.checks`` runs in a row."""
        key = f"{allocation_key(experiment.key)}:leader"
        if leading is None:
            await self._streaks.delete(key)
            return None
        raw = await self._streaks.get(key)
        previous = json.loads(raw) if raw else {}
        checks = previous.get("checks", 0) + 1 if previous.get("variant") == leading else 1
        await self._streaks.put(
            key, json.dumps({"variant": leading, "checks": checks}), DECIDED_TTL
        )
        return leading if checks >= experiment.stopping.checks else None
