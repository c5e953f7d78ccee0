"""Forecasts plug in: the forecast desk (models from the registry, answers cached, words
rendered), the staff's forecast conversation, the console's forecast board, the jobs the desk
and the board enqueue (training, answering a chat, computing a console's answer), and the
promoted models' age as a metric."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog

from actions.booking.quotes import Quotes
from actions.capability import Capability, Kit
from actions.forecasts.apart import ForecastProcess, Recipe
from actions.forecasts.board import ForecastBoard
from actions.forecasts.cache import AnswerCache, forecast_kind
from actions.forecasts.conversation import create_router
from actions.forecasts.desk import ForecastDesk, Forecasting
from actions.forecasts.metrics import PromotedModelAge
from actions.forecasts.price_rules import PriceRulesSource
from actions.forecasts.registry import Registry
from actions.forecasts.settings import ForecastSettings
from bot.core.types import Address, Outcome
from bot.jobs.job import Job

log = structlog.get_logger("rsv360.forecasts")


def plug(
    kit: Kit,
    settings: ForecastSettings,
    models_dir: Path,
    pricing_dir: Path,
    answer_in_jobs: bool,
    child_logging: tuple[str, str],
) -> Capability:
    """``answer_in_jobs``: job workers run apart from the web workers, and answer the questions
    not answered yet (the models, pandas and matplotlib stay out of the web workers).
    ``child_logging`` (format, level) is the child process's (``settings.child_process``)."""

    def words(template: str, locale: str, values: Mapping[str, Any]) -> str:
        return kit.renderer.render(Outcome(template, values), locale, "plain").text

    registry = Registry(models_dir)
    apart = (
        ForecastProcess(
            Recipe(kit.database.url, models_dir, kit.default_property, *child_logging),
            settings.child_idle_seconds,
        )
        if settings.child_process
        else None
    )

    def heavy_half() -> Forecasting:
        if apart is not None:
            return apart
        from actions.forecasts.answers import Forecaster

        return Forecaster(kit.database, registry, kit.default_property)

    price_rules = PriceRulesSource(pricing_dir)
    kit.services.provide(price_rules)
    desk = ForecastDesk(
        kit.database,
        registry,
        price_rules,
        AnswerCache(kit.cache, forecast_kind(settings.cache_seconds)),
        words,
        kit.default_property,
        kit.media,
        heavy_half,
        lambda: kit.jobs.enqueue("train_forecast_models"),
        (lambda asked: kit.jobs.enqueue("answer_forecast", **asked)) if answer_in_jobs else None,
    )
    kit.services.provide(desk)
    kit.metrics.registry.register(PromotedModelAge(desk.registry))

    async def answer_forecast(
        slug: str, locale: str, channel: str, conversation: str, **question: Any
    ) -> None:
        from actions.forecasts.questions import Question

        found = await kit.services.get(Quotes).property_by_slug(slug)
        if found is None:  # removed from the catalog since it was asked
            log.warning("forecast_property_gone", property=slug)
            return
        today = kit.services.today(found.timezone)
        answer = await desk.answer(found, Question.from_arguments(**question), locale, today)
        await kit.notifier.notify(Address(channel, conversation), locale, [answer])

    async def compute_forecast(slug: str, locale: str, **question: Any) -> None:
        """A console's answer computed and cached: the next reload of its page shows it."""
        from actions.forecasts.questions import Question

        found = await kit.services.get(Quotes).property_by_slug(slug)
        if found is None:
            log.warning("forecast_property_gone", property=slug)
            return
        today = kit.services.today(found.timezone)
        await desk.answer(found, Question.from_arguments(**question), locale, today)

    kit.services.provide(
        ForecastBoard(
            desk,
            kit.services.get(Quotes),
            kit.media.store,
            kit.services.today,
            (lambda asked: kit.jobs.enqueue("compute_forecast", **asked))
            if answer_in_jobs
            else None,
        )
    )
    training = Job("train_forecast_models", lambda: desk.train_missing(kit.now().date()))
    jobs = [
        training,
        Job("answer_forecast", answer_forecast),
        Job("compute_forecast", compute_forecast),
    ]
    return Capability(create_router(), jobs, apart.close if apart is not None else None)
