"""The experiment file (``prompts/experiments.yaml``): what each experiment varies, how it
allocates new users, which goals it counts and when it stops itself.

The file is read once at start-up and every mistake stops it, naming the experiment and the
field: a template or button label that does not exist, a weight that is not a positive number,
a goal nobody records, a winner that is no variant. An experiment's version is a hash of what
its variants show, so changing the variants of a running experiment starts a new version (new
assignments, new figures) instead of mixing the data of two different tests.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.core.documents import DocumentError

CONTROL = "control"
GOALS = ("booking_held", "booking_paid", "no_handoff", "understood", "replied", "revenue")
"""What an experiment may count; ``no_handoff`` and ``understood`` are the absence of a
handoff or an out-of-scope reply within the attribution window, ``revenue`` the paid amount."""
NAME = r"^[a-z][a-z0-9_]{0,59}$"
LABEL_MACRO = re.compile(r"{%-?\s*macro\s+(\w+)\s*\(")

Allocation = Literal["fixed", "thompson"]
Status = Literal["running", "stopped"]
Weight = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]


class ExperimentFileError(DocumentError):
    """The experiment file is wrong: the message names the experiment and the field."""

    def __init__(self, message: str) -> None:
        super().__init__("", message)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LlmParameters(_Strict):
    """The LLM's parameters a variant may change (when an OpenAI-compatible endpoint is set)."""

    temperature: Annotated[float, Field(ge=0, le=2, allow_inf_nan=False)] = 0.0
    top_p: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] | None = None


class VariantDeclaration(_Strict):
    weight: Weight
    own_template: bool = True
    """Renders ``<template>.<variant>.j2``; false: the control wording (a buttons-only or
    parameters-only variant)."""
    buttons: tuple[str, ...] | None = None
    """The button labels offered, in this order; None: the ones the action asks for."""
    llm: LlmParameters | None = None


class StoppingRule(_Strict):
    probability: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    """A variant's probability to be best must stay above this..."""
    checks: Annotated[int, Field(ge=1, le=100)] = 3
    """...at this many allocation runs in a row..."""
    min_users: Annotated[int, Field(ge=1)] = 500
    """...with at least this many users in every variant..."""
    max_loss: Annotated[float, Field(gt=0, le=1)] = 0.002
    """...and its expected loss (of the primary goal's rate) below this."""


class ExperimentDeclaration(_Strict):
    template: str = Field(min_length=1, max_length=200, pattern=r"^[a-z0-9_]+(/[a-z0-9_]+)*$")
    status: Status = "running"
    winner: str | None = None
    allocation: Allocation = "fixed"
    goals: tuple[str, ...] = ("replied",)
    """The first one is primary: it drives the allocation and the stopping rule."""
    attribution_hours: Annotated[float, Field(gt=0, le=24 * 90, allow_inf_nan=False)] = 72
    min_share: Annotated[float, Field(ge=0, lt=0.5)] = 0.05
    """The least share of new users a variant keeps under Thompson sampling."""
    reallocate_seconds: Annotated[int, Field(ge=10, le=86_400)] = 300
    stopping: StoppingRule = StoppingRule()
    keywords: tuple[Annotated[str, Field(min_length=3, max_length=60)], ...] = ()
    """Words that name it in a staff question ("how is the greeting test doing?")."""
    variants: dict[str, VariantDeclaration]

    @field_validator("variants", mode="before")
    @classmethod
    def _weight_alone(cls, variants: Any) -> Any:
        """``warm: 50`` is short for ``warm: {weight: 50}``."""
        if not isinstance(variants, dict):
            return variants
        return {
            name: {"weight": declared}
            if isinstance(declared, int | float) and not isinstance(declared, bool)
            else declared
            for name, declared in variants.items()
        }

    @field_validator("goals")
    @classmethod
    def _known_goals(cls, goals: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [goal for goal in goals if goal not in GOALS]
        if unknown or not goals:
            raise ValueError(f"unknown goal {unknown[0]!r}" if unknown else "at least one goal")
        return goals


@dataclass(frozen=True, slots=True)
class Variant:
    weight: float
    own_template: bool = True
    buttons: tuple[str, ...] | None = None
    llm: LlmParameters | None = None


@dataclass(frozen=True)  # no slots: its version is hashed once (cached_property)
class Experiment:
    name: str
    template: str
    variants: Mapping[str, Variant]
    status: Status = "running"
    winner: str | None = None
    allocation: Allocation = "fixed"
    goals: tuple[str, ...] = ("replied",)
    attribution_hours: float = 72
    min_share: float = 0.05
    reallocate_seconds: int = 300
    stopping: StoppingRule = field(default_factory=StoppingRule)
    keywords: tuple[str, ...] = ()

    @cached_property
    def version(self) -> str:
        """What the variants show, hashed: weights, goals and rules may change in place."""
        shown = {
            name: [variant.own_template, variant.buttons, variant.llm and variant.llm.model_dump()]
            for name, variant in sorted(self.variants.items())
        }
        canonical = json.dumps([self.template, shown], sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:8]

    @property
    def key(self) -> str:
        """``name@version``: where its assignments and figures are kept."""
        return f"{self.name}@{self.version}"

    @property
    def weights(self) -> dict[str, float]:
        return {name: variant.weight for name, variant in self.variants.items()}

    def assign(self, subject: str, weights: Mapping[str, float] | None = None) -> str:
        """The variant at ``subject``'s point of ``weights`` (the declared ones by default):
        the same in every process, and independent between experiments."""
        shares = {name: w for name, w in (weights or self.weights).items() if w > 0}
        digest = hashlib.sha256(f"{self.name}:{subject}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64 * sum(shares.values())
        for variant, weight in shares.items():
            if point < weight:
                return variant
            point -= weight
        return next(reversed(shares))  # float rounding at the very top of the range


def parse_experiments(
    document: Any, templates: Path, labels: frozenset[str] | None = None
) -> list[Experiment]:
    """Every experiment of a loaded YAML document, checked against the templates in
    ``templates`` and the button ``labels``; raises ``ExperimentFileError``."""
    if document is None:
        return []
    if not isinstance(document, dict) or not isinstance(
        document.get("experiments", {}) or {}, dict
    ):
        raise ExperimentFileError("the file is a mapping with an `experiments` mapping")
    if set(document) - {"experiments"}:
        raise ExperimentFileError(
            f"unknown top-level fields {sorted(set(document) - {'experiments'})}"
        )
    experiments: list[Experiment] = []
    by_template: dict[str, str] = {}
    for name, declaration in (document.get("experiments") or {}).items():
        experiment = _experiment(name, declaration, templates, labels)
        if experiment.template in by_template:
            raise _error(
                name, "template", f"already tested by {by_template[experiment.template]!r}"
            )
        by_template[experiment.template] = name
        experiments.append(experiment)
    return experiments


def load_experiments(path: Path, templates: Path | None = None) -> list[Experiment]:
    templates = templates or path.parent
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ExperimentFileError(f"{path}: not readable YAML: {error}") from None
    try:
        return parse_experiments(document, templates, button_labels(templates))
    except ExperimentFileError as error:
        raise ExperimentFileError(f"{path}: {error}") from None


def button_labels(templates: Path) -> frozenset[str]:
    source = (templates / "labels.j2").read_text(encoding="utf-8")
    return frozenset(LABEL_MACRO.findall(source))


def _experiment(
    name: object, declaration: object, templates: Path, labels: frozenset[str] | None
) -> Experiment:
    if not isinstance(name, str) or not re.match(NAME, name):
        raise ExperimentFileError(f"experiment {name!r}: a name is lowercase letters, digits, _")
    if not isinstance(declaration, dict):
        raise _error(name, "", "an experiment is a mapping of fields")
    try:
        parsed = ExperimentDeclaration.model_validate(declaration)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise _error(name, where, first["msg"]) from None
    variants = {variant: _variant(declared) for variant, declared in parsed.variants.items()}
    experiment = Experiment(
        name=name,
        template=parsed.template,
        variants=variants,
        status=parsed.status,
        winner=parsed.winner,
        allocation=parsed.allocation,
        goals=parsed.goals,
        attribution_hours=parsed.attribution_hours,
        min_share=parsed.min_share,
        reallocate_seconds=parsed.reallocate_seconds,
        stopping=parsed.stopping,
        keywords=parsed.keywords,
    )
    _check(experiment, templates, labels)
    return experiment


def _variant(declared: VariantDeclaration) -> Variant:
    return Variant(declared.weight, declared.own_template, declared.buttons, declared.llm)


def _check(experiment: Experiment, templates: Path, labels: frozenset[str] | None) -> None:
    name = experiment.name
    if CONTROL not in experiment.variants:
        raise _error(name, "variants", f"needs a {CONTROL!r} variant")
    if len(experiment.variants) < 2:
        raise _error(name, "variants", "needs at least one variant besides control")
    if experiment.winner is not None and experiment.winner not in experiment.variants:
        raise _error(name, "winner", f"{experiment.winner!r} is no variant")
    if experiment.min_share * len(experiment.variants) >= 1:
        raise _error(name, "min_share", "the variants' minimum shares add up to 1 or more")
    if not (templates / f"{experiment.template}.j2").is_file():
        raise _error(name, "template", f"no template {experiment.template!r}")
    for variant, declared in experiment.variants.items():
        if not re.match(NAME, variant):
            raise _error(name, f"variants.{variant}", "a name is lowercase letters, digits, _")
        own = f"{experiment.template}.{variant}.j2"
        if variant != CONTROL and declared.own_template and not (templates / own).is_file():
            raise _error(name, f"variants.{variant}", f"no template {own!r}")
        unknown = [
            label for label in declared.buttons or () if labels is not None and label not in labels
        ]
        if unknown:
            raise _error(name, f"variants.{variant}.buttons", f"unknown label {unknown[0]!r}")


def _error(experiment: str, field_name: str, message: str) -> ExperimentFileError:
    where = f", field {field_name!r}" if field_name else ""
    return ExperimentFileError(f"experiment {experiment!r}{where}: {message}")
