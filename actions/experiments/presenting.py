"""An experiment's report in words and a chart, for the staff question and the CLI: the values
of ``prompts/experiments/summary.j2`` (percentages rounded for reading) and the PNG."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actions.experiments.analysis import timeline
from actions.experiments.desk import ExperimentDesk, Report, seed_of
from bot.core.experiment_file import Experiment

Words = Callable[[str, str, Mapping[str, Any]], str]
"""Renders a template to plain text: (template, locale, values)."""


@dataclass(frozen=True, slots=True)
class Summary:
    template: str
    values: dict[str, Any]
    png: bytes
    alt: str


def summary_values(report: Report) -> dict[str, Any]:
    experiment = report.experiment
    goals = []
    for goal, found in report.goals.items():
        goals.append(
            {
                "goal": goal,
                "variants": [
                    {
                        "variant": item.variant,
                        "users": item.users,
                        "conversions": item.conversions,
                        "rate": _percent(item.rate),
                        "low": _percent(item.low),
                        "high": _percent(item.high),
                        "p_best": _percent(item.p_best),
                        "p_beat_control": _percent(item.p_beat_control),
                        "loss": _percent(item.expected_loss, 2),
                        "revenue": round(item.revenue_per_user, 2),
                        "revenue_low": round(item.revenue_low, 2),
                        "revenue_high": round(item.revenue_high, 2),
                    }
                    for item in found
                ],
            }
        )
    ratio = report.sample_ratio
    return {
        "experiment": experiment.name,
        "version": experiment.version,
        "allocation": experiment.allocation,
        "stopped": report.decision is not None or experiment.status == "stopped",
        "winner": report.decision.winner if report.decision else experiment.winner,
        "goals": goals,
        "srm_mismatch": bool(ratio and ratio.mismatch),
        "srm_p": None if ratio is None else round(ratio.p_value, 4),
    }


def _percent(share: float, digits: int = 1) -> float:
    return round(share * 100, digits)


class Presenter:
    def __init__(self, desk: ExperimentDesk, words: Words) -> None:
        self.desk = desk
        self._words = words

    async def summary(self, experiment: Experiment, locale: str, now: datetime) -> Summary:
        report = await self.desk.report(experiment, now)
        values = summary_values(report)
        exposures = await self.desk.ledger.exposures(experiment.key)
        conversions = await self.desk.ledger.conversions(experiment.key)
        goal = experiment.goals[0]

        def draw() -> bytes:
            # matplotlib only for a chart: `rsv360 experiments report` prints words alone.
            from actions.experiments.charts import CHART_WORDS, experiment_chart

            history = timeline(
                exposures,
                conversions,
                goal,
                experiment.attribution_hours,
                list(experiment.variants),
                now,
                seed_of(experiment),
            )
            lines = self._words("experiments/chart_words", locale, {}).splitlines()
            words = dict(
                zip(CHART_WORDS, (line.strip() for line in lines if line.strip()), strict=True)
            )
            return experiment_chart(
                report.goals[goal], history, words, f"{experiment.name} · {goal}"
            )

        png = await asyncio.to_thread(draw)
        alt = self._words("experiments/alt", locale, values)
        return Summary("experiments/summary", values, png, alt)

    def text(self, report: Report, locale: str) -> str:
        return self._words("experiments/summary", locale, summary_values(report))
