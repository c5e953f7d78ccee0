"""The heavy half of the forecast desk: the promoted models, the history they read, and the
answers (figures and charts) they give.

pandas, matplotlib and scikit-learn live here, imported on the first forecast question or
training by a job worker, or by the child process a web worker starts for them
(:mod:`actions.forecasts.apart`). Answers are computed in a worker thread: they never block the
event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import structlog

from actions.forecasts import cancellation, charts, demand, pricing, training
from actions.forecasts.desk import Answer, Asked
from actions.forecasts.history import load_history
from actions.forecasts.questions import Question
from actions.forecasts.registry import Registry
from actions.forecasts.synthetic import ensure_demo_history
from bot.stores.database import Database

log = structlog.get_logger("rsv360.forecasts")

HISTORY_SECONDS = 120.0
STALE_DAYS = 7
RISK_LIST = 8


class Ask(NamedTuple):
    history: pd.DataFrame
    asked: Asked
    base: dict[str, Any]


class Forecaster:
    """Models loaded once per version, history kept for ``HISTORY_SECONDS``, answers computed."""

    def __init__(self, database: Database, registry: Registry, demo_property: str) -> None:
        self.database = database
        self.registry = registry
        self.default_property = demo_property
        self._models: dict[str, tuple[str, Any]] = {}
        self._history: dict[str, tuple[float, pd.DataFrame]] = {}
        self._demo_history_checked = False

    def version(self, name: str) -> str | None:
        return self.registry.promoted(name)

    async def train_missing(self, today: date) -> None:
        started = time.perf_counter()
        await ensure_demo_history(self.database, self.default_property, today)
        history = await load_history(self.database)
        for name in (cancellation.NAME, demand.NAME):
            if self.version(name) is None:
                version = await asyncio.to_thread(
                    training.train_and_store, self.registry, name, history
                )
                self.registry.promote(version)
        log.info("forecast_models_trained", seconds=round(time.perf_counter() - started, 2))

    async def model(self, name: str) -> tuple[str, Any]:
        version = self.version(name)
        if version is None:
            raise LookupError(f"no promoted {name} model")
        loaded = self._models.get(name)
        if loaded is None or loaded[0] != version:
            parts, _ = await asyncio.to_thread(self.registry.load, version)
            loaded = (version, training.from_parts(name, parts))
            self._models[name] = loaded
        return loaded

    async def history(self, slug: str, today: date) -> pd.DataFrame:
        if not self._demo_history_checked:  # made here, not at start-up: it needs pandas
            await ensure_demo_history(self.database, self.default_property, today)
            self._demo_history_checked = True
        kept = self._history.get(slug)
        if kept is None or kept[0] < time.monotonic():
            kept = (time.monotonic() + HISTORY_SECONDS, await load_history(self.database, slug))
            self._history[slug] = kept
        return kept[1]

    # -- answers ------------------------------------------------------------------------------

    async def answer(self, asked: Asked) -> Answer:
        question, place, today = asked.question, asked.place, asked.today
        name = cancellation.NAME if question.kind == "cancellation" else demand.NAME
        version, model = await self.model(name)
        _, demand_model = await self.model(demand.NAME)
        history = await self.history(place.slug, today)
        base = {
            "property": place.name, "version": version, "start": question.start.isoformat(),
            "end": question.end.isoformat(), "clipped": question.clipped,
            "holiday": question.holiday.isoformat() if question.holiday else None,
        }  # fmt: skip
        if f"{place.slug}/{demand.ALL_ROOMS}" not in demand_model.series or history.empty:
            return Answer("forecasts/no_history", base)
        taken = demand.as_of(history).date()
        if taken < today - timedelta(days=STALE_DAYS):
            return Answer("forecasts/stale_history", {**base, "as_of": taken.isoformat()})
        work = {"demand": self._demand, "cancellation": self._risk, "price": self._price}
        return await asyncio.to_thread(
            work[question.kind], model, demand_model, Ask(history, asked, base)
        )

    def _demand(self, model: Any, demand_model: Any, ask: Ask) -> Answer:
        history, asked, base = ask
        place, question, today = asked.place, asked.question, asked.today
        table = self._forecast(demand_model, history, place.slug, today, question)
        capacity = place.rooms or float(table["nights_capacity"].iloc[0])
        table["nights_capacity"] = capacity
        for column in ("nights_low", "nights_median", "nights_high"):
            table[column] = table[column].clip(upper=capacity)  # no more rooms than there are
        room_nights = capacity * len(table)
        peak = table.loc[table["nights_median"].idxmax()]
        last_year = table["nights_last_year"].where(table["nights_last_year"] >= 0)
        values = {
            **base,
            "occupancy": _percent(table["nights_median"].sum(), room_nights),
            "low": _percent(table["nights_low"].sum(), room_nights),
            "high": _percent(table["nights_high"].sum(), room_nights),
            "on_books": _percent(table["nights_on_books"].sum(), room_nights),
            "last_year": _percent(last_year.sum(), room_nights)
            if last_year.notna().all()
            else None,
            "arrivals": round(float(table["arrivals_median"].sum())),
            "peak_day": peak["date"].date().isoformat(),
            "peak": _percent(peak["nights_median"], capacity),
        }
        png = charts.demand_chart(table, asked.chart_words, f"{place.name} · {version_tag(base)}")
        return Answer("forecasts/demand", values, png)

    def _forecast(
        self,
        demand_model: Any,
        history: pd.DataFrame,
        slug: str,
        today: date,
        question: Question,
        room: str = demand.ALL_ROOMS,
    ) -> pd.DataFrame:
        days = (question.end - today).days
        table = demand.forecast(demand_model, history, slug, pd.Timestamp(today), days, room)
        chosen = table["date"] >= pd.Timestamp(question.start)
        return table[chosen].reset_index(drop=True)

    def _risk(self, model: Any, demand_model: Any, ask: Ask) -> Answer:
        history, asked, base = ask
        question, today = asked.question, asked.today
        arrival = history["arrival"]
        upcoming = (
            (arrival >= pd.Timestamp(question.start))
            & (arrival <= pd.Timestamp(question.end))
            & ~history["is_canceled"]
            & (history["booked_on"] <= pd.Timestamp(today))
        )
        values: dict[str, Any] = {**base, "count": int(upcoming.sum())}
        if not upcoming.any():
            return Answer("forecasts/risk", {**values, "bookings": [], "share": 0})
        scores = model.predict(history)[upcoming.to_numpy()]
        chosen = history[upcoming].assign(probability=scores)
        top = chosen.sort_values("probability", ascending=False).head(RISK_LIST)
        rooms = asked.place.room_names(asked.locale)
        bookings = [
            {
                "reference": str(row.reference),
                "room": rooms.get(row.room_type, row.room_type),
                "arrival": row.arrival.date().isoformat(),
                "probability": round(100 * row.probability),
            }
            for row in top.itertuples()
        ]
        values.update(bookings=bookings, share=round(100 * float(scores.mean())))
        labels = [
            f"{b['reference']} · {b['room']} · {b['arrival'][8:]}/{b['arrival'][5:7]}"
            for b in bookings
        ]
        png = charts.risk_chart(
            labels,
            top["probability"].tolist(),
            asked.chart_words,
            f"{asked.place.name} · {version_tag(base)}",
        )
        return Answer("forecasts/risk", values, png)

    def _price(self, model: Any, demand_model: Any, ask: Ask) -> Answer:
        history, asked, base = ask
        place, question, today, rules = asked.place, asked.question, asked.today, asked.rules
        if rules is None:
            return Answer("forecasts/no_price_rules", base)
        rooms, units = place.room_names(asked.locale), place.units
        tables, suggestions = {}, []
        for room in sorted(set(history["room_type"]) & set(units)):
            series = room if f"{place.slug}/{room}" in demand_model.series else demand.ALL_ROOMS
            table = self._forecast(demand_model, history, place.slug, today, question, series)
            capacity = units[room] if series == room else place.rooms
            scope = history if series == demand.ALL_ROOMS else history[history["room_type"] == room]
            days = pd.DatetimeIndex(table["date"])
            forecast = table["nights_median"].to_numpy() / capacity
            usual = pricing.usual_occupancy(scope, capacity, days)
            rates = pricing.usual_rates(history, room, days)
            if np.isnan(rates).all():
                continue
            suggested = pricing.suggest(rules, room, days, forecast, usual, rates)
            tables[rooms.get(room, room)] = suggested
            top = suggested.loc[suggested["change"].abs().idxmax()]
            suggestions.append(
                {
                    "room": rooms.get(room, room),
                    "rate": int(top["suggested"]),
                    "usual_rate": round(top["usual_rate"]),
                    "date": top["date"].date().isoformat(),
                    "forecast": round(100 * top["forecast"]),
                    "usual": round(100 * top["usual"]),
                    "change": round(100 * top["change"]),
                    "bound": top["bound"],
                    "average": round(suggested["suggested"].mean()),
                }
            )
        values = {**base, "suggestions": suggestions, "currency": place.currency}
        title = f"{place.name} · {version_tag(base)}"
        png = charts.price_chart(tables, asked.chart_words, title) if tables else None
        return Answer("forecasts/price", values, png)


def version_tag(values: Mapping[str, Any]) -> str:
    return f"{values['start']} → {values['end']} · {values['version']}"


def _percent(part: float, whole: float) -> int:
    return round(100 * float(part) / whole) if whole else 0
