"""``rsv360 experiments report``: every experiment's figures from the database, in words (the
staff summary template, in the default locale) or as JSON; part of the composition root."""

from __future__ import annotations

import json

from bot.root.settings import PACKAGE_ROOT, Settings


async def experiments_report(settings: Settings, name: str | None, as_json: bool) -> int | str:
    from actions.experiments.desk import build_report
    from actions.experiments.ledger import SqlLedger
    from actions.experiments.presenting import summary_values
    from bot.core.clock import system_now
    from bot.core.experiment_file import load_experiments
    from bot.core.render import Renderer
    from bot.core.types import Outcome
    from bot.stores import migrations
    from bot.stores.database import Database, sqlite_url

    prompts = PACKAGE_ROOT / "prompts"
    declared = [
        experiment
        for experiment in load_experiments(settings.experiments_file, prompts)
        if name in (None, experiment.name)
    ]
    if not declared:
        return f"rsv360 experiments: no experiment named {name!r}" if name else 0
    database = Database(settings.database_url or sqlite_url(settings.data_dir))
    try:
        await migrations.ensure_current(database)
        ledger = SqlLedger(database)
        now = system_now()
        reports = [await build_report(ledger, experiment, now) for experiment in declared]
    finally:
        await database.close()
    if as_json:
        print(json.dumps([report.as_json() for report in reports], indent=2))
        return 0
    renderer = Renderer(prompts, PACKAGE_ROOT / "locales", settings.default_locale)
    for report in reports:
        outcome = Outcome("experiments/summary", summary_values(report))
        print(renderer.render(outcome, settings.default_locale, "plain").text, end="\n\n")
    return 0
