"""The forecast desk as the staff console shows it: each property's occupancy, cancellation
risk and suggested prices for the next days with their charts, and the model versions with
promotion and rollback.

The answers are the chat's own (:meth:`ForecastDesk.answer`, cached per property, version,
period and language) and their charts are read back from the media store. Where job workers
answer apart from the web workers, an answer not cached yet is handed to them and the page says
it is being computed, so the web worker never loads pandas or the models.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from actions.booking.quotes import Quotes
from actions.booking.tables import Property
from actions.forecasts.desk import ForecastDesk
from actions.forecasts.registry import MODELS, RegistryError
from bot.core.types import Outcome
from bot.stores.base import MediaStore

if TYPE_CHECKING:
    from actions.forecasts.questions import Question

log = structlog.get_logger("rsv360.forecasts")

KINDS = ("demand", "cancellation", "price")
"""The page's panels, in order: occupancy with its band, cancellation risk, prices."""
PNG_DATA = "data:image/png;base64,"


class ForecastBoard:
    def __init__(
        self,
        desk: ForecastDesk,
        quotes: Quotes,
        media: MediaStore,
        today: Callable[[str], date],
        compute_later: Callable[[dict[str, Any]], Awaitable[None]] | None,
    ) -> None:
        """``today`` gives the day in a time zone; ``compute_later`` enqueues the job that
        computes and caches an answer (None when this process answers)."""
        self._desk = desk
        self._quotes = quotes
        self._media = media
        self._today = today
        self._compute_later = compute_later

    async def properties(self) -> list[dict[str, str]]:
        """The properties that take stays (a tour operator has no rooms to forecast)."""
        return [
            {"slug": found.slug, "name": found.name}
            for found in await self._quotes.properties()
            if found.kind != "tour_operator"
        ]

    async def forecasts(self, slug: str, days: int, locale: str) -> Mapping[str, Any] | None:
        """The page's values for the next ``days`` days at ``slug``; None when no such
        property. ``state`` is ``training`` while no model is promoted yet."""
        found = await self._quotes.property_by_slug(slug)
        if found is None or found.kind == "tour_operator":
            return None
        today = self._today(found.timezone)
        base = {"property": found.name, "slug": slug, "days": days}
        if not await self._desk.ready(today):
            return {**base, "state": "training", "panels": []}
        from actions.forecasts.questions import Question

        start = today + timedelta(days=1)
        panels = []
        for kind in KINDS:
            question = Question(kind, start, today + timedelta(days=days))
            panels.append(await self._panel(found, question, locale, today))
        computing = any(panel["state"] == "computing" for panel in panels)
        return {**base, "state": "computing" if computing else "ready", "panels": panels}

    async def _panel(
        self, found: Property, question: Question, locale: str, today: date
    ) -> dict[str, Any]:
        if self._compute_later is None:
            outcome = await self._desk.answer(found, question, locale, today)
        else:
            cached = await self._desk.cached(found.slug, question, locale)
            if cached is None:
                await self._compute_later(
                    {"slug": found.slug, "locale": locale, **question.as_arguments()}
                )
                return {"kind": question.kind, "state": "computing"}
            outcome = cached
        return {
            "kind": question.kind,
            "state": "ready",
            "answer": outcome.template.removeprefix("forecasts/"),
            "figures": outcome.values,
            "chart": await self._chart(outcome),
        }

    async def _chart(self, outcome: Outcome) -> str | None:
        """The answer's chart as a ``data:`` URI (the console allows no other image source);
        None when the answer has none or the media store no longer keeps it."""
        if outcome.image is None or not outcome.image.media_key:
            return None
        stored = await self._media.get(outcome.image.media_key)
        if stored is None or stored.content_type != "image/png":
            return None
        return PNG_DATA + base64.b64encode(stored.data).decode("ascii")

    # -- model versions -----------------------------------------------------------------------

    async def versions(self) -> Mapping[str, Any]:
        """Every version with its metadata, newest first per model, the promoted one marked,
        and per model whether there is an earlier promoted version to roll back to."""
        registry = self._desk.registry
        found = await asyncio.to_thread(registry.versions)
        models = []
        for name in MODELS:
            history = registry.promotions(name)
            models.append(
                {
                    "name": name,
                    "promoted": history[-1] if history else None,
                    "earlier": history[-2] if len(history) > 1 else None,
                    "versions": [
                        _version(metadata, history[-1] if history else None)
                        for metadata in reversed(found)
                        if metadata.get("model") == name
                    ],
                }
            )
        return {"models": models}

    async def promote(self, version: str) -> str:
        """``promoted``; ``unknown`` when there is no such version, ``already`` when it is the
        one serving, ``unfit`` when it does not load (another feature schema, untrusted types).
        Loading it to check it runs in a thread: the event loop never waits on it."""
        registry = self._desk.registry
        try:
            metadata = registry.metadata(version)
        except RegistryError:
            return "unknown"
        if registry.promoted(str(metadata.get("model"))) == version:
            return "already"
        try:
            await asyncio.to_thread(registry.promote, version)
        except RegistryError as error:
            log.warning("forecast_model_refused", version=version, reason=str(error))
            return "unfit"
        return "promoted"

    async def roll_back(self, model: str) -> str:
        """``rolled_back``; ``unknown`` when no such model, ``nothing_earlier`` when no earlier
        version was promoted."""
        if model not in MODELS:
            return "unknown"
        try:
            self._desk.registry.rollback(model)
        except RegistryError:
            return "nothing_earlier"
        return "rolled_back"


def _version(metadata: Mapping[str, Any], promoted: str | None) -> dict[str, Any]:
    """A version's metadata as the page shows it: held-out metrics as percentages."""
    backtest = metadata.get("backtest") or {}
    metrics: dict[str, Any] = {}
    if isinstance(backtest, dict) and "roc_auc" in backtest:
        metrics = {"roc_auc": backtest["roc_auc"], "brier": backtest["brier"]}
    series = []
    if isinstance(backtest, dict) and "roc_auc" not in backtest:
        for slug, result in sorted(backtest.items()):
            mape = result.get("mape", {})
            series.append(
                {
                    "slug": slug,
                    "mape_7": _percent(mape.get("7")),
                    "mape_14": _percent(mape.get("14")),
                    "coverage": _percent(result.get("coverage_80")),
                }
            )
    return {
        "version": metadata["version"],
        "trained_at": metadata.get("trained_at"),
        "rows": metadata.get("rows"),
        "data_from": metadata.get("data_from"),
        "data_to": metadata.get("data_to"),
        "metrics": metrics,
        "series": series,
        "promoted": metadata["version"] == promoted,
    }


def _percent(share: float | None) -> float | None:
    return None if share is None else round(100 * float(share), 1)
