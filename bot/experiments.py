"""A/B variants of templates: deterministic, sticky assignment and a record of every exposure.

A user's variant comes from a hash of (experiment, user), the same in every process and after a
restart, and is then kept in the session so that later weight changes do not move them. A stopped
experiment sends everyone to its winner, or to control when none was declared.
"""

from __future__ import annotations

import hashlib
import json
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from redis.asyncio import Redis

from bot import keys
from bot.sessions import Session

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


class ExposureLog(ABC):
    @abstractmethod
    async def record(self, experiment: str, variant: str, subject: str) -> None: ...

    @abstractmethod
    async def counts(self, experiment: str) -> Counter[str]:
        """Exposures per variant."""


class MemoryExposureLog(ExposureLog):
    def __init__(self) -> None:
        self._counts: dict[str, Counter[str]] = {}

    async def record(self, experiment: str, variant: str, subject: str) -> None:
        self._counts.setdefault(experiment, Counter())[variant] += 1

    async def counts(self, experiment: str) -> Counter[str]:
        return Counter(self._counts.get(experiment, Counter()))


class RedisExposureLog(ExposureLog):
    """A capped stream of exposures for analysis, plus counters per variant."""

    def __init__(self, redis: Redis, max_events: int = 1_000_000) -> None:
        self._redis = redis
        self._max_events = max_events

    async def record(self, experiment: str, variant: str, subject: str) -> None:
        event = {"experiment": experiment, "variant": variant, "subject": subject}
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(
                keys.EXPOSURES,
                {"event": json.dumps(event), "at": f"{time.time():.3f}"},
                maxlen=self._max_events,
                approximate=True,
            )
            pipe.hincrby(keys.exposure_counts(experiment), variant, 1)
            await pipe.execute()

    async def counts(self, experiment: str) -> Counter[str]:
        stored = await self._redis.hgetall(keys.exposure_counts(experiment))
        return Counter({_text(variant): int(count) for variant, count in stored.items()})


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


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
