"""Goal events are counted for the experiments a user saw before them, within the window, once
per user and event, and survive in the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta

from sqlalchemy import event

from actions.experiments.ledger import SqlLedger
from bot.core.experiment_file import Experiment, Variant
from bot.core.goals import GoalEvents
from bot.core.observability import pseudonym
from bot.stores.database import Database
from tests.support.clock import NOW
from tests.support.statements import Statements


def experiment(name: str, hours: float = 24) -> Experiment:
    return Experiment(
        name=name,
        template=f"smalltalk/{name}",
        variants={"control": Variant(1), "warm": Variant(1)},
        attribution_hours=hours,
    )


async def test_an_event_counts_once_for_every_experiment_seen_before_it(database: Database) -> None:
    ledger = SqlLedger(database)
    tone, menu, unseen = experiment("tone"), experiment("menu", hours=1), experiment("unseen")
    goals = GoalEvents([tone, menu, unseen], ledger)
    conversation = pseudonym("web:c1")
    await ledger.expose(tone.key, "warm", "u1", conversation, NOW)
    await ledger.expose(menu.key, "control", "u1", conversation, NOW)

    later = NOW + timedelta(hours=2)  # inside tone's day, outside menu's hour
    assert await goals.record("web", "c1", "booking_held", later) == 1
    assert await goals.record("web", "c1", "booking_held", later + timedelta(minutes=5)) == 0
    assert await goals.record("web", "c1", "booking_paid", later, value=45_000) == 1
    assert await goals.record("web", "other", "booking_held", later) == 0

    rows = await ledger.conversions(tone.key)
    assert [(row.variant, row.subject, row.event, row.value) for row in rows] == [
        ("warm", "u1", "booking_held", 0),
        ("warm", "u1", "booking_paid", 45_000),
    ]
    assert await ledger.conversions(menu.key) == []


async def test_an_event_before_the_exposure_or_after_the_window_does_not_count(
    database: Database,
) -> None:
    ledger = SqlLedger(database)
    tone = experiment("tone", hours=24)
    goals = GoalEvents([tone], ledger)
    await ledger.expose(tone.key, "warm", "u1", pseudonym("web:c1"), NOW)
    assert await goals.record("web", "c1", "handoff", NOW - timedelta(minutes=1)) == 0
    assert await goals.record("web", "c1", "handoff", NOW) == 0  # the same turn: not "after"
    assert await goals.record("web", "c1", "handoff", NOW + timedelta(hours=25)) == 0
    assert await goals.record("web", "c1", "handoff", NOW + timedelta(hours=23)) == 1


async def test_the_first_exposure_wins_and_a_stopped_experiment_counts_nothing(
    database: Database,
) -> None:
    ledger = SqlLedger(database)
    tone = experiment("tone")
    assert await ledger.expose(tone.key, "warm", "u1", "c", NOW) == "warm"
    assert await ledger.expose(tone.key, "control", "u1", "c", NOW + timedelta(hours=1)) == "warm"
    assert [row.variant for row in await ledger.exposures(tone.key)] == ["warm"]
    stopped = Experiment(
        name="tone", template="smalltalk/tone", variants=tone.variants, status="stopped"
    )
    assert await GoalEvents([stopped], ledger).record("web", "c", "replied", NOW) == 0


async def test_a_burst_of_new_users_is_written_in_a_few_units_of_work(
    database: Database,
) -> None:
    """A hundred guests greeted at once: on SQLite's one writer a unit of work each queued the
    last greeting for seconds."""
    ledger = SqlLedger(database)
    tone = experiment("tone")
    assert await ledger.expose(tone.key, "control", "u7", "c7", NOW) == "control"
    units = 0

    def begun(*_: object) -> None:
        nonlocal units
        units += 1

    event.listen(database.engine.sync_engine, "begin", begun)
    try:
        kept = await asyncio.gather(
            *(ledger.expose(tone.key, "warm", f"u{n}", f"c{n}", NOW) for n in range(100))
        )
    finally:
        event.remove(database.engine.sync_engine, "begin", begun)

    assert kept == ["control" if n == 7 else "warm" for n in range(100)], "u7 keeps its own"
    assert units <= 3
    rows = await ledger.exposures(tone.key)
    assert len(rows) == 100
    assert {row.subject: row.variant for row in rows}["u7"] == "control"


async def test_a_decision_is_recorded_once_with_its_figures(database: Database) -> None:
    ledger = SqlLedger(database)
    figures = {"goal": "replied", "variants": [{"variant": "warm", "p_best": 0.97}]}
    assert await ledger.decide("tone@v1", "warm", "stopping_rule", figures, NOW)
    assert not await ledger.decide("tone@v1", "control", "stopping_rule", {}, NOW)
    decisions = await ledger.decisions(["tone@v1", "tone@v2"])
    assert list(decisions) == ["tone@v1"]
    assert decisions["tone@v1"].winner == "warm"
    assert decisions["tone@v1"].figures == figures


async def test_noted_events_are_counted_together_and_before_anyone_reads_the_counts(
    database: Database,
) -> None:
    ledger = SqlLedger(database, soon_seconds=3600)  # never on its own timer in this test
    tone = experiment("tone")
    goals = GoalEvents([tone], ledger)
    for number in range(20):
        await ledger.expose(tone.key, "warm", f"u{number}", pseudonym(f"web:c{number}"), NOW)
    later = NOW + timedelta(minutes=1)
    for number in range(20):
        goals.note("web", f"c{number}", "replied", later)
        goals.note("web", f"c{number}", "replied", later)  # twice: counted once
    goals.note("web", "c0", "out_of_scope", NOW - timedelta(minutes=1))  # before the exposure

    rows = await ledger.conversions(tone.key)

    assert len(rows) == 20
    assert {row.event for row in rows} == {"replied"}


async def test_closing_counts_what_is_noted(database: Database) -> None:
    ledger = SqlLedger(database, soon_seconds=3600)
    tone = experiment("tone")
    await ledger.expose(tone.key, "warm", "u1", pseudonym("web:c1"), NOW)
    GoalEvents([tone], ledger).note("web", "c1", "replied", NOW + timedelta(minutes=1))
    await ledger.close()
    assert len(await SqlLedger(database).conversions(tone.key)) == 1


async def test_a_burst_of_exposures_and_goals_runs_each_statement_once(
    database: Database,
) -> None:
    """On PostgreSQL a unit of work's INSERT runs once for all its rows (asyncpg's executemany
    ran it once per row), and its lookups read the same for one row or a hundred, so that
    PostgreSQL plans each once (a list of values read differently for each length). A user
    exposed twice within one unit keeps the first variant."""
    ledger = SqlLedger(database, soon_seconds=3600)
    tone = experiment("tone")
    goals = GoalEvents([tone], ledger)

    def exposing_to(variant: str, number: int) -> Awaitable[str]:
        return ledger.expose(tone.key, variant, f"u{number}", pseudonym(f"web:c{number}"), NOW)

    with Statements(database) as exposing:
        assert await exposing_to("warm", 100) == "warm"
        kept = await asyncio.gather(
            *(exposing_to("warm", number) for number in range(100)), exposing_to("control", 50)
        )
    assert kept == ["warm"] * 101
    for number in range(100):
        goals.note("web", f"c{number}", "replied", NOW + timedelta(minutes=1))
    with Statements(database) as attributing:
        rows = await ledger.conversions(tone.key)  # counts what is noted first

    assert len(rows) == 100
    assert {row.variant for row in await ledger.exposures(tone.key)} == {"warm"}
    if database.is_sqlite:  # in the process: an executemany costs little there
        return
    assert not [kind for kind in exposing.run + attributing.run if kind.endswith("*")]
    assert len(exposing.of("INSERT")) == 2
    assert len(set(exposing.of("INSERT"))) == len(set(exposing.of("SELECT"))) == 1
    assert [kind for kind in attributing.run if kind != "BEGIN"] == ["SELECT", "INSERT", "SELECT"]
