"""Forecasts plug in: the forecast desk (models from the registry, answers cached, words
rendered), the staff's forecast conversation, the training job the desk enqueues, and the
promoted models' age as a metric."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actions.capability import Capability, Kit
from actions.forecasts.cache import AnswerCache, forecast_kind
from actions.forecasts.conversation import create_router
from actions.forecasts.desk import ForecastDesk
from actions.forecasts.metrics import PromotedModelAge
from actions.forecasts.registry import Registry
from actions.forecasts.settings import ForecastSettings
from bot.core.types import Outcome
from bot.jobs.job import Job


def plug(kit: Kit, settings: ForecastSettings, models_dir: Path, pricing_dir: Path) -> Capability:
    def words(template: str, locale: str, values: Mapping[str, Any]) -> str:
        return kit.renderer.render(Outcome(template, values), locale, "plain").text

    desk = ForecastDesk(
        kit.database,
        Registry(models_dir),
        pricing_dir,
        AnswerCache(kit.cache, forecast_kind(settings.cache_seconds)),
        words,
        kit.default_property,
        lambda: kit.jobs.enqueue("train_forecast_models"),
    )
    kit.services.provide(desk)
    kit.metrics.registry.register(PromotedModelAge(desk.registry))
    training = Job("train_forecast_models", lambda: desk.train_missing(datetime.now(UTC).date()))
    return Capability(create_router(), [training])
