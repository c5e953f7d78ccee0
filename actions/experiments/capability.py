"""Experiments plug in first: the engine's ``Experiments`` and ``GoalEvents`` on the database
ledger (capabilities plugged later report their goal events through it), the desk with its
allocation job, the staff's report question, and the staff alert when an experiment stops
itself (raised through the alerts capability's desk, reached when it happens)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actions.alerts.desk import AlertDesk
from actions.capability import Capability, Kit
from actions.experiments.conversation import create_router
from actions.experiments.desk import ExperimentDesk
from actions.experiments.ledger import SqlLedger
from actions.experiments.notice import StoppedNotice
from actions.experiments.presenting import Presenter
from bot.core.experiment_file import Experiment
from bot.core.experiments import Experiments
from bot.core.goals import GoalEvents
from bot.core.types import Outcome
from bot.jobs.job import Job


def plug(kit: Kit, declared: list[Experiment]) -> Capability:
    def words(template: str, locale: str, values: Mapping[str, Any]) -> str:
        return kit.renderer.render(Outcome(template, values), locale, "plain").text

    ledger = SqlLedger(kit.database)
    experiments = Experiments(declared, kit.stores.exposures, ledger, kit.stores.cache)
    notice = StoppedNotice(words, kit.default_locale, lambda: kit.services.get(AlertDesk))
    desk = ExperimentDesk(experiments, ledger, kit.stores.cache, notice)
    kit.services.provide(experiments, GoalEvents(declared, ledger), desk, Presenter(desk, words))
    jobs = []
    running = [experiment for experiment in declared if experiment.status == "running"]
    if running:
        every = min(experiment.reallocate_seconds for experiment in running)
        jobs.append(Job("optimise_experiments", lambda: desk.optimise(kit.now()), every))

    async def close() -> None:
        await ledger.close()
        await kit.stores.exposures.close()

    return Capability(create_router(), jobs, close=close)
