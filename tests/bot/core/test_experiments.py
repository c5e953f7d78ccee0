"""A/B variants at run time: deterministic, sticky (session, then the ledger), weighted or
allocated, recorded durably; stopped experiments send everyone to a winner."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from actions.experiments.ledger import SqlLedger
from bot.core.experiment_file import Experiment, Variant
from bot.core.experiments import Allocation, Experiments
from bot.core.respond import with_buttons
from bot.core.types import Choice, Outcome
from bot.steps.sessions import Session
from bot.stores.base import ExposureLog, ValueStore
from bot.stores.database import Database
from bot.stores.memory import MemoryExposureLog, MemoryValueStore
from bot.stores.redis import RedisExposureLog, RedisValueStore
from tests.support.clock import NOW, Ticks


@pytest.fixture(params=["memory", "redis"])
def stores(request: pytest.FixtureRequest) -> tuple[ExposureLog, ValueStore]:
    """In process, then on Redis (the ``redis`` fixture only for that run)."""
    if request.param == "memory":
        return MemoryExposureLog(), MemoryValueStore(Ticks())
    redis = request.getfixturevalue("redis")
    return RedisExposureLog(redis), RedisValueStore(redis)


def tone(**overrides: object) -> Experiment:
    values: dict[str, object] = {
        "name": "tone",
        "template": "smalltalk/greet",
        "variants": {"control": Variant(50), "warm": Variant(50)},
    }
    values.update(overrides)
    return Experiment(**values)  # type: ignore[arg-type]


def test_assignment_is_deterministic_and_follows_the_weights() -> None:
    experiment = tone(variants={"control": Variant(80), "warm": Variant(20)})
    assignments = [experiment.assign(f"user-{n}") for n in range(10_000)]
    assert assignments == [experiment.assign(f"user-{n}") for n in range(10_000)]
    share = Counter(assignments)["warm"] / len(assignments)
    assert 0.18 < share < 0.22
    shifted = [experiment.assign(f"user-{n}", {"control": 1, "warm": 3}) for n in range(10_000)]
    assert 0.72 < Counter(shifted)["warm"] / len(shifted) < 0.78


def test_experiments_with_other_names_assign_independently() -> None:
    first, second = tone(name="a"), tone(name="b")
    same = sum(first.assign(f"u{n}") == second.assign(f"u{n}") for n in range(2000))
    assert 800 < same < 1200


async def test_a_user_keeps_the_variant_after_the_weights_and_the_session_change(
    stores: tuple[ExposureLog, ValueStore], database: Database
) -> None:
    exposures, values = stores
    ledger = SqlLedger(database)
    before = await Experiments([tone()], exposures, ledger, values).expose(
        "smalltalk/greet", "u1", "c1", Session("c", "en"), NOW
    )
    assert before is not None
    elsewhere = "warm" if before.variant == "control" else "control"
    changed = tone(variants={before.variant: Variant(0.001), elsewhere: Variant(1000)})
    later = NOW + timedelta(days=3)
    fresh_session = Session("c", "en")
    after = await Experiments([changed], exposures, ledger, values).expose(
        "smalltalk/greet", "u1", "c1", fresh_session, later
    )
    assert after is not None
    assert after.variant == before.variant
    assert fresh_session.experiments == {tone().key: before.variant}


async def test_new_users_follow_the_published_allocation(
    stores: tuple[ExposureLog, ValueStore], database: Database
) -> None:
    exposures, values = stores
    experiments = Experiments([tone()], exposures, SqlLedger(database), values)
    await experiments.publish(tone(), Allocation({"control": 0.1, "warm": 0.9}), 60)
    shown = Counter()
    for number in range(300):
        exposure = await experiments.expose(
            "smalltalk/greet", f"u{number}", f"c{number}", Session("c", "en"), NOW
        )
        assert exposure is not None
        assert exposure.recorded
        shown[exposure.variant] += 1
    assert 0.84 < shown["warm"] / 300 < 0.96
    assert await exposures.counts("tone") == shown
    rows = await SqlLedger(database).exposures(tone().key)
    assert Counter(row.variant for row in rows) == shown


async def test_a_winner_serves_everyone_unrecorded(
    stores: tuple[ExposureLog, ValueStore], database: Database
) -> None:
    exposures, values = stores
    ledger = SqlLedger(database)
    declared = Experiments([tone(status="stopped", winner="warm")], exposures, ledger, values)
    session = Session("c", "en", experiments={tone().key: "control"})
    exposure = await declared.expose("smalltalk/greet", "u1", "c1", session, NOW)
    assert exposure is not None
    assert (exposure.variant, exposure.recorded) == ("warm", False)
    running = Experiments([tone()], exposures, ledger, values)
    await running.publish(tone(), Allocation({"control": 1, "warm": 1}, winner="control"), 60)
    stopped = await running.expose("smalltalk/greet", "u2", "c2", session, NOW)
    assert stopped is not None
    assert (stopped.variant, stopped.recorded) == ("control", False)
    assert await exposures.counts("tone") == Counter()
    assert await ledger.exposures(tone().key) == []


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "[]",
        '{"weights": {"control": 1}}',
        '{"weights": {"control": 1, "warm": "x"}}',
        '{"weights": {"control": 0, "warm": 0}}',
        '{"weights": {"control": 1, "warm": 1}, "winner": "hot"}',
    ],
)
def test_an_allocation_that_does_not_fit_is_ignored(raw: str | None) -> None:
    assert Allocation.load(raw, ["control", "warm"]) is None


def test_a_button_variant_offers_its_labels_in_its_order() -> None:
    outcome = Outcome(
        "smalltalk/greet",
        choices=(Choice("menu_book", "b"), Choice("menu_faq", "f"), Choice("menu_human", "h")),
    )
    shown = with_buttons(outcome, ("menu_human", "menu_book", "menu_my_bookings"))
    assert [choice.label for choice in shown.choices] == ["menu_human", "menu_book"]
    assert with_buttons(outcome, None) is outcome
