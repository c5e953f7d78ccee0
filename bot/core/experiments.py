"""A/B variants at run time: sticky assignment, the shared allocation, and every exposure kept.

A user keeps their variant: it is kept in the session under the experiment's ``name@version``
and, durably, in the experiment ledger (so it outlives the session). A new user gets the
variant at their point of the current allocation: the declared weights (``allocation:
fixed``), or the weights the allocation job last computed from the figures (``thompson``),
read from a store every worker shares. An experiment that stopped (in the file, or by itself:
the allocation then names the winner) shows its winner, or control, to everyone unrecorded.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import structlog

from bot.core.experiment_file import CONTROL, Experiment, Variant
from bot.steps.sessions import Session
from bot.stores.base import ExposureLog, ValueStore
from bot.stores.keys import PREFIX

log = structlog.get_logger("rsv360.experiments")

__all__ = [
    "CONTROL",
    "AssistStyle",
    "Experiment",
    "ExperimentLedger",
    "Experiments",
    "Exposure",
]


ALLOCATION_SECONDS = 5.0
"""How long a worker reuses an experiment's allocation before reading it again: it changes every
``reallocate_seconds`` (minutes), and greetings are shown on many turns."""


def allocation_key(experiment_key: str) -> str:
    return f"{PREFIX}:experiments:{experiment_key}:allocation"


@dataclass(frozen=True, slots=True)
class Exposure:
    experiment: str
    variant: str
    recorded: bool
    shown: Variant | None = None
    """What the variant changes (buttons, LLM parameters); None when it renders as control."""


@dataclass(frozen=True, slots=True)
class AssistStyle:
    """How the LLM reads an unsure message in a variant: its system prompt's template and
    parameters (the guardrails stay: validated output, time-outs, the model's own reading)."""

    prompt: str
    temperature: float = 0.0
    top_p: float | None = None

    @classmethod
    def of(cls, template: str, exposure: Exposure | None) -> AssistStyle | None:
        """The variant's style; None when no experiment runs on ``template`` or it is control
        as declared (the assist's own defaults)."""
        if exposure is None or exposure.shown is None:
            return None
        shown = exposure.shown
        own = exposure.variant != CONTROL and shown.own_template
        prompt = f"{template}.{exposure.variant}" if own else template
        if shown.llm is None:
            return cls(prompt)
        return cls(prompt, shown.llm.temperature, shown.llm.top_p)


@dataclass(frozen=True, slots=True)
class Allocation:
    """What the allocation job decided last: the weights for new users, or the winner."""

    weights: Mapping[str, float]
    winner: str | None = None

    def dump(self) -> str:
        return json.dumps({"weights": dict(self.weights), "winner": self.winner})

    @classmethod
    def load(cls, raw: str | None, variants: Iterable[str]) -> Allocation | None:
        """None for nothing stored or anything that does not fit the variants."""
        if raw is None:
            return None
        try:
            document = json.loads(raw)
            weights = {str(name): float(share) for name, share in document["weights"].items()}
            winner = document.get("winner")
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        known = set(variants)
        if set(weights) != known or winner not in known | {None} or sum(weights.values()) <= 0:
            return None
        return cls(weights, winner)


class ExperimentLedger(ABC):
    """Where exposures and goal events are kept for good (``actions.experiments.ledger``)."""

    @abstractmethod
    async def expose(
        self, experiment_key: str, variant: str, subject: str, conversation: str, at: datetime
    ) -> str:
        """Keep the first exposure; returns the variant kept (an earlier one wins)."""

    @abstractmethod
    async def attribute(self, occurred: GoalOccurrence, windows: Mapping[str, float]) -> int:
        """Count the event for every experiment version of ``windows`` (key → attribution
        hours) that the conversation's user saw within its window before it happened, once per
        user and event; returns how many were counted."""

    @abstractmethod
    def attribute_soon(self, occurred: GoalOccurrence, windows: Mapping[str, float]) -> None:
        """As ``attribute``, written with others within a moment; what reads the counts sees
        it."""

    @abstractmethod
    async def close(self) -> None:
        """Write what waits to be (at shutdown)."""


@dataclass(frozen=True, slots=True)
class GoalOccurrence:
    conversation: str
    """The conversation's pseudonym (exposures are kept under it)."""
    event: str
    at: datetime
    value: int = 0


class Experiments:
    def __init__(
        self,
        experiments: list[Experiment],
        exposures: ExposureLog,
        ledger: ExperimentLedger,
        allocations: ValueStore,
    ) -> None:
        self.exposures = exposures
        self._ledger = ledger
        self._allocations = allocations
        self._read: dict[str, tuple[float, Allocation | None]] = {}
        self.replace(experiments)

    def replace(self, experiments: list[Experiment]) -> None:
        """Serve ``experiments`` from the next reply on (the experiments setting changed). An
        experiment whose variants changed has a new version (``Experiment.key``), so its users
        are assigned afresh and its figures start again; weights and status apply at once."""
        self.declared = experiments
        self._by_template = {experiment.template: experiment for experiment in experiments}

    async def allocation(self, experiment: Experiment) -> Allocation | None:
        """The published allocation, as read within the last ``ALLOCATION_SECONDS``."""
        read_until, allocation = self._read.get(experiment.key, (0.0, None))
        if read_until <= time.monotonic():
            raw = await self._allocations.get(allocation_key(experiment.key))
            allocation = Allocation.load(raw, experiment.variants)
            self._read[experiment.key] = (time.monotonic() + ALLOCATION_SECONDS, allocation)
        return allocation

    async def publish(self, experiment: Experiment, allocation: Allocation, ttl: int) -> None:
        raw = allocation.dump()
        await self._allocations.put(allocation_key(experiment.key), raw, ttl)
        published = Allocation.load(raw, experiment.variants)
        self._read[experiment.key] = (time.monotonic() + ALLOCATION_SECONDS, published)

    async def expose(
        self, template: str, subject: str, conversation: str, session: Session, at: datetime
    ) -> Exposure | None:
        """The variant of ``template`` that ``subject`` sees; None when no experiment runs on it.

        A running experiment records the exposure; a stopped one shows its winner unrecorded.
        """
        experiment = self._by_template.get(template)
        if experiment is None:
            return None
        if experiment.status == "stopped":
            return self._shown(experiment, experiment.winner or CONTROL, recorded=False)
        allocation = await self.allocation(experiment)
        if allocation is not None and allocation.winner is not None:
            return self._shown(experiment, allocation.winner, recorded=False)
        variant = session.experiments.get(experiment.key)
        if variant is None or variant not in experiment.variants:
            variant = await self._kept_or_new(experiment, subject, conversation, at, allocation)
            session.experiments[experiment.key] = variant
        await self.exposures.record(experiment.name, variant, subject, at)
        return self._shown(experiment, variant, recorded=True)

    async def _kept_or_new(
        self,
        experiment: Experiment,
        subject: str,
        conversation: str,
        at: datetime,
        allocation: Allocation | None,
    ) -> str:
        """The variant the ledger kept for ``subject`` (their session expired), else a new
        assignment on the current allocation, kept (an earlier one of another worker wins): one
        unit of work either way, as a version's variants never change (its key hashes them)."""
        variant = experiment.assign(subject, allocation.weights if allocation else None)
        return await self._ledger.expose(experiment.key, variant, subject, conversation, at)

    @staticmethod
    def _shown(experiment: Experiment, variant: str, recorded: bool) -> Exposure:
        declared = experiment.variants[variant]
        changes = variant != CONTROL or declared.buttons is not None or declared.llm is not None
        return Exposure(experiment.name, variant, recorded, declared if changes else None)
