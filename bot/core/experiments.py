"""A/B variants of templates: deterministic, sticky assignment and a record of every exposure.

A user's variant comes from a hash of (experiment, user), the same in every process and after a
restart, and is then kept in the session so that later weight changes do not move them. A stopped
experiment sends everyone to its winner, or to control when none was declared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from bot.steps.sessions import Session
from bot.stores.base import ExposureLog

CONTROL = "control"


@dataclass(frozen=True, slots=True)
class Experiment:
    name: str
    template: str
    variants: Mapping[str, int]
    status: Literal["running", "stopped"] = "running"
    winner: str | None = None

    def __post_init__(self) -> None:
        if CONTROL not in self.variants:
            raise ValueError(f"experiment {self.name!r} needs a {CONTROL!r} variant")
        if any(weight < 0 for weight in self.variants.values()) or not sum(self.variants.values()):
            raise ValueError(f"experiment {self.name!r} needs positive weights")
        if self.winner is not None and self.winner not in self.variants:
            raise ValueError(f"experiment {self.name!r}: winner {self.winner!r} is no variant")

    def assign(self, subject: str) -> str:
        digest = hashlib.sha256(f"{self.name}:{subject}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") % sum(self.variants.values())
        for variant, weight in self.variants.items():
            if point < weight:
                return variant
            point -= weight
        raise AssertionError("unreachable: point is below the total weight")


@dataclass(frozen=True, slots=True)
class Exposure:
    experiment: str
    variant: str
    recorded: bool


def load_experiments(path: Path) -> list[Experiment]:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [
        Experiment(name=name, **declaration)
        for name, declaration in (document.get("experiments") or {}).items()
    ]


class Experiments:
    def __init__(self, experiments: list[Experiment], exposures: ExposureLog) -> None:
        self._by_template = {experiment.template: experiment for experiment in experiments}
        self.exposures = exposures

    async def expose(self, template: str, subject: str, session: Session) -> Exposure | None:
        """The variant of ``template`` that ``subject`` sees; None when no experiment runs on it.

        A running experiment records the exposure; a stopped one shows its winner unrecorded.
        """
        experiment = self._by_template.get(template)
        if experiment is None:
            return None
        if experiment.status == "stopped":
            return Exposure(experiment.name, experiment.winner or CONTROL, recorded=False)
        variant = session.experiments.get(experiment.name)
        if variant is None or variant not in experiment.variants:
            variant = experiment.assign(subject)
            session.experiments[experiment.name] = variant
        await self.exposures.record(experiment.name, variant, subject)
        return Exposure(experiment.name, variant, recorded=True)
