"""``rsv360 experiments report``: the figures from the database, as JSON or words."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from actions.experiments.ledger import SqlLedger
from bot.core.experiment_file import load_experiments
from bot.core.experiments import GoalOccurrence
from bot.root.cli import main
from bot.root.settings import PACKAGE_ROOT
from tests.support.clock import NOW
from tests.support.databases import fresh_database
from tests.support.services import POSTGRESQL_URL


@pytest.fixture
async def recorded(monkeypatch: pytest.MonkeyPatch) -> str:
    database = await fresh_database(POSTGRESQL_URL)
    [greeting] = load_experiments(PACKAGE_ROOT / "prompts" / "experiments.yaml")
    ledger = SqlLedger(database)
    for number, variant in enumerate(["control", "control", "warm"]):
        await ledger.expose(
            greeting.key, variant, f"u{number}", f"c{number}", NOW - timedelta(minutes=5)
        )
    replied = GoalOccurrence("c2", "replied", NOW - timedelta(minutes=1))
    await ledger.attribute(replied, {greeting.key: 72})
    await database.close()
    monkeypatch.setenv("RSV_DATABASE_URL", POSTGRESQL_URL)
    return greeting.key


def test_the_report_prints_each_variants_figures_as_json(
    recorded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_status:
        main(["experiments", "report", "greeting_tone", "--json"])
    assert exit_status.value.code == 0
    [report] = json.loads(capsys.readouterr().out)
    assert f"{report['experiment']}@{report['version']}" == recorded
    replied = {row["variant"]: row for row in report["goals"]["replied"]}
    assert (replied["control"]["users"], replied["control"]["conversions"]) == (2, 0)
    assert (replied["warm"]["users"], replied["warm"]["conversions"]) == (1, 1)
    assert replied["warm"]["p_best"] > replied["control"]["p_best"]


def test_the_report_in_words_and_an_unknown_name(
    recorded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_status:
        main(["experiments", "report"])
    assert exit_status.value.code == 0
    assert "greeting_tone" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_status:
        main(["experiments", "report", "nope"])
    assert exit_status.value.code == "rsv360 experiments: no experiment named 'nope'"
