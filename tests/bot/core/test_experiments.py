"""A/B variants: deterministic, sticky, weighted, recorded; stopped experiments send to a winner."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.core.experiments import Experiment, Experiments, load_experiments
from bot.root.settings import PACKAGE_ROOT
from bot.steps.sessions import Session
from bot.stores.base import ExposureLog
from bot.stores.memory import MemoryExposureLog
from bot.stores.redis import RedisExposureLog


@pytest.fixture(params=["memory", "redis"])
def exposures(request: pytest.FixtureRequest) -> ExposureLog:
    """In process, then on Redis (the ``redis`` fixture only for that run)."""
    if request.param == "memory":
        return MemoryExposureLog()
    return RedisExposureLog(request.getfixturevalue("redis"))


def tone(**overrides: object) -> Experiment:
    values: dict[str, object] = {
        "name": "tone",
        "template": "smalltalk/greet",
        "variants": {"control": 50, "warm": 50},
    }
    values.update(overrides)
    return Experiment(**values)  # type: ignore[arg-type]


def test_assignment_is_deterministic_and_follows_the_weights() -> None:
    experiment = tone(variants={"control": 80, "warm": 20})
    assignments = [experiment.assign(f"user-{n}") for n in range(10_000)]
    assert assignments == [experiment.assign(f"user-{n}") for n in range(10_000)]
    share = Counter(assignments)["warm"] / len(assignments)
    assert 0.18 < share < 0.22


def test_experiments_with_other_names_assign_independently() -> None:
    first, second = tone(name="a"), tone(name="b")
    same = sum(first.assign(f"u{n}") == second.assign(f"u{n}") for n in range(2000))
    assert 800 < same < 1200


async def test_a_user_keeps_the_variant_after_the_weights_change(exposures: ExposureLog) -> None:
    session = Session("c", "en")
    before = await Experiments([tone()], exposures).expose("smalltalk/greet", "u1", session)
    assert before is not None
    everyone_elsewhere = {"control": 0, "warm": 1} if before.variant == "control" else None
    changed = tone(variants=everyone_elsewhere or {"control": 1, "warm": 0})
    after = await Experiments([changed], exposures).expose("smalltalk/greet", "u1", session)
    assert after is not None
    assert after.variant == before.variant


async def test_each_exposure_is_recorded_with_its_variant(exposures: ExposureLog) -> None:
    experiments = Experiments([tone()], exposures)
    shown = Counter()
    for number in range(50):
        exposure = await experiments.expose("smalltalk/greet", f"u{number}", Session("c", "en"))
        assert exposure is not None
        shown[exposure.variant] += 1
    assert await exposures.counts("tone") == shown
    assert await experiments.expose("smalltalk/thanks", "u1", Session("c", "en")) is None


async def test_a_stopped_experiment_sends_everyone_to_the_winner_unrecorded(
    exposures: ExposureLog,
) -> None:
    experiments = Experiments([tone(status="stopped", winner="warm")], exposures)
    session = Session("c", "en", experiments={"tone": "control"})
    exposure = await experiments.expose("smalltalk/greet", "u1", session)
    assert exposure is not None
    assert (exposure.variant, exposure.recorded) == ("warm", False)
    no_winner = Experiments([tone(status="stopped")], exposures)
    stopped = await no_winner.expose("smalltalk/greet", "u2", Session("c", "en"))
    assert stopped is not None
    assert stopped.variant == "control"
    assert await exposures.counts("tone") == Counter()


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"variants": {"a": 1, "b": 1}}, "control"),
        ({"variants": {"control": 0}}, "positive"),
        ({"winner": "cold"}, "no variant"),
    ],
)
def test_a_malformed_experiment_is_refused(overrides: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        tone(**overrides)


def test_the_shipped_experiments_have_their_templates() -> None:
    for experiment in load_experiments(PACKAGE_ROOT / "prompts" / "experiments.yaml"):
        for variant in experiment.variants:
            suffix = "" if variant == "control" else f".{variant}"
            assert (PACKAGE_ROOT / "prompts" / f"{experiment.template}{suffix}.j2").is_file()
