"""The ``experiment_report`` intent for staff: how an experiment is doing, in words and a chart.

Guests are refused by the dispatcher (``roles=STAFF``). The experiment is the one whose name or
keywords the question mentions, else the only one declared; with several and none named, the
answer lists them.
"""

from __future__ import annotations

import unicodedata

from actions.experiments.presenting import Presenter
from actions.services import Services
from bot import Context, Outcome, Router
from bot.core.experiment_file import Experiment
from bot.core.types import STAFF
from bot.outbound.media import MediaLibrary


def folded(text: str) -> str:
    """Lowercase without accents: "saudação" and "saudacao" are one word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def named(experiments: list[Experiment], text: str) -> list[Experiment]:
    question = folded(text)
    return [
        experiment
        for experiment in experiments
        if any(
            folded(word) in question
            for word in (experiment.name, experiment.name.replace("_", " "), *experiment.keywords)
        )
    ]


async def experiment_report(context: Context[Services]) -> Outcome:
    presenter = context.services.get(Presenter)
    declared = presenter.desk.experiments.declared
    if not declared:
        return Outcome("experiments/none")
    found = named(declared, context.message.text or "")
    if not found and len(declared) == 1:
        found = declared
    if len(found) != 1:
        return Outcome("experiments/which", {"names": [e.name for e in declared]})
    summary = await presenter.summary(found[0], context.locale, context.received_at)
    image = await context.services.get(MediaLibrary).publish(summary.png, "image/png", summary.alt)
    return Outcome(summary.template, summary.values, image=image)


def create_router() -> Router[Services]:
    router: Router[Services] = Router("experiments")
    router.intent("experiment_report", roles=STAFF)(experiment_report)
    return router
