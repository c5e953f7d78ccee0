"""The allocation job: Thompson shares for new users published for every worker, and the
stopping rule: the experiment stops itself, the winner serves everyone, the decision is kept
with its figures and the staff get an ``info`` alert. Real database and Redis, frozen clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from actions.alerts.tables import AlertRecord
from actions.experiments.desk import ExperimentDesk, build_report
from actions.experiments.ledger import SqlLedger
from actions.experiments.notice import StoppedNotice
from actions.experiments.presenting import Presenter
from bot.core.experiment_file import Experiment, StoppingRule, Variant
from bot.core.experiments import Experiments
from bot.core.goals import GoalEvents
from bot.core.observability import pseudonym
from bot.core.render import Renderer
from bot.core.types import Outcome
from bot.root.settings import PACKAGE_ROOT
from bot.steps.sessions import Session
from bot.stores.database import Database
from bot.stores.redis import RedisExposureLog, RedisValueStore
from tests.support.alert_desk import AlertBench
from tests.support.clock import NOW

RENDERER = Renderer(PACKAGE_ROOT / "prompts", PACKAGE_ROOT / "locales", "en")


def words(template: str, locale: str, values: object) -> str:
    return RENDERER.render(Outcome(template, values), locale, "plain").text  # type: ignore[arg-type]


def greeting(**overrides: object) -> Experiment:
    values: dict[str, object] = {
        "name": "greeting_tone",
        "template": "smalltalk/greet",
        "variants": {"control": Variant(1), "warm": Variant(1)},
        "allocation": "thompson",
        "goals": ("booking_held", "replied"),
        "min_share": 0.1,
        "stopping": StoppingRule(probability=0.95, min_users=150, max_loss=0.01, checks=2),
        "keywords": ("saudação", "greeting"),
    }
    values.update(overrides)
    return Experiment(**values)  # type: ignore[arg-type]


async def traffic(
    experiments: Experiments, goals: GoalEvents, users: int, rates: dict[str, float]
) -> None:
    """``users`` guests see the greeting; every n-th of each variant books."""
    seen = {variant: 0 for variant in rates}
    for number in range(users):
        conversation = f"c{number}"
        exposure = await experiments.expose(
            "smalltalk/greet",
            f"u{number}",
            pseudonym(f"web:{conversation}"),
            Session(conversation, "en"),
            NOW,
        )
        assert exposure is not None
        seen[exposure.variant] += 1
        if seen[exposure.variant] % round(1 / rates[exposure.variant]) == 0:
            await goals.record("web", conversation, "booking_held", NOW + timedelta(minutes=5))


@pytest.fixture
async def wired(
    database: Database, redis: Redis, alert_bench: AlertBench
) -> tuple[Experiments, GoalEvents, ExperimentDesk]:
    declared = [greeting()]
    ledger = SqlLedger(database)
    values = RedisValueStore(redis)
    experiments = Experiments(declared, RedisExposureLog(redis), ledger, values)
    notice = StoppedNotice(words, "en", lambda: alert_bench.desk)
    return (
        experiments,
        GoalEvents(declared, ledger),
        ExperimentDesk(experiments, ledger, values, notice),
    )


async def test_thompson_shifts_new_users_towards_the_better_variant(
    wired: tuple[Experiments, GoalEvents, ExperimentDesk],
) -> None:
    experiments, goals, desk = wired
    await traffic(experiments, goals, 100, {"control": 0.1, "warm": 0.5})
    assert await desk.optimise(NOW + timedelta(hours=1)) == 0
    allocation = await experiments.allocation(greeting())
    assert allocation is not None
    assert allocation.winner is None
    assert allocation.weights["warm"] > 0.85
    assert allocation.weights["control"] >= 0.1


async def test_the_experiment_stops_itself_and_tells_the_staff(
    wired: tuple[Experiments, GoalEvents, ExperimentDesk], database: Database
) -> None:
    experiments, goals, desk = wired
    await traffic(experiments, goals, 400, {"control": 0.1, "warm": 0.5})
    later = NOW + timedelta(hours=1)
    assert await desk.optimise(later) == 0  # the first run that sees a leader: checks=2
    assert await desk.optimise(later) == 1
    assert await desk.optimise(later) == 0  # decided once
    allocation = await experiments.allocation(greeting())
    assert allocation is not None
    assert allocation.winner == "warm"
    shown = await experiments.expose("smalltalk/greet", "u0", "c0", Session("c0", "en"), later)
    assert shown is not None
    assert (shown.variant, shown.recorded) == ("warm", False)
    report = await build_report(desk.ledger, greeting(), later)
    assert report.decision is not None
    assert report.decision.decided_by == "stopping_rule"
    assert report.decision.figures["goal"] == "booking_held"
    async with database.session() as session:
        alerts = (await session.execute(select(AlertRecord))).scalars().all()
    assert [(alert.type, alert.severity, alert.source) for alert in alerts] == [
        ("system", "info", "experiments")
    ]
    assert "greeting_tone" in alerts[0].summary
    assert "warm" in alerts[0].summary


async def test_the_staff_summary_has_the_figures_and_a_chart(
    wired: tuple[Experiments, GoalEvents, ExperimentDesk],
) -> None:
    experiments, goals, desk = wired
    await traffic(experiments, goals, 60, {"control": 0.1, "warm": 0.25})
    summary = await Presenter(desk, words).summary(greeting(), "en", NOW + timedelta(hours=1))
    assert summary.png.startswith(b"\x89PNG")
    text = words(summary.template, "en", summary.values)
    assert "greeting_tone" in text
    assert "booking_held" in text
    assert "95% interval" in text
    assert (
        summary.values["goals"][0]["variants"][0]["users"]
        + summary.values["goals"][0]["variants"][1]["users"]
        == 60
    )
