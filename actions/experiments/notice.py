"""The staff's message when an experiment stops itself: an ``info`` alert through the alerts
capability's desk, its summary in words from ``prompts/experiments/stopped.j2``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from actions.alerts.desk import AlertDesk
from actions.alerts.model import MAX_SUMMARY_CHARS, Alert, clipped
from actions.experiments.analysis import VariantFigures
from bot.core.experiment_file import Experiment

Words = Callable[[str, str, Mapping[str, Any]], str]


class StoppedNotice:
    def __init__(self, words: Words, locale: str, alerts: Callable[[], AlertDesk]) -> None:
        self._words = words
        self._locale = locale
        self._alerts = alerts
        """The desk, looked up when an experiment stops (the alerts capability plugs later)."""

    async def __call__(
        self, experiment: Experiment, winner: str, found: list[VariantFigures]
    ) -> None:
        best = next(item for item in found if item.variant == winner)
        values = {
            "experiment": experiment.name,
            "winner": winner,
            "goal": experiment.goals[0],
            "rate": round(best.rate * 100, 1),
            "p_best": round(best.p_best * 100, 1),
            "users": sum(item.users for item in found),
        }
        summary = self._words("experiments/stopped", self._locale, values)
        alert = Alert(
            type="system",
            severity="info",
            dedupe_key=f"experiment:{experiment.key}:stopped",
            summary=clipped(summary, MAX_SUMMARY_CHARS),
            source="experiments",
        )
        await self._alerts().raise_alert(alert)
