"""Train a forecast model on the history, measure it on held-out time, and store a version.

Models travel as plain dicts of scikit-learn estimators (what skops can load safely) and are
rebuilt into their classes here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from actions.forecasts import cancellation, demand
from actions.forecasts.backtest import rolling_origin
from actions.forecasts.registry import Registry

Progress = Callable[[Iterable[Any]], Iterable[Any]]
HOLDOUT_DAYS = 28


def _quiet(items: Iterable[Any]) -> Iterable[Any]:
    return items


def fit(
    name: str, history: pd.DataFrame, progress: Progress = _quiet
) -> tuple[Any, dict[str, Any]]:
    """The model and its held-out metrics."""
    end = demand.as_of(history)
    metadata: dict[str, Any] = {
        "rows": len(history),
        "data_from": history["booked_on"].min().date().isoformat(),
        "data_to": end.date().isoformat(),
        "properties": sorted(history["property"].unique().tolist()),
    }
    if name == cancellation.NAME:
        cutoff = history["arrival"].quantile(0.8)
        early, late = history[history["arrival"] < cutoff], history[history["arrival"] >= cutoff]
        if early["is_canceled"].nunique() == 2 and late["is_canceled"].nunique() == 2:
            metadata["backtest"] = cancellation.evaluate(cancellation.train(early), late)
        return cancellation.train(history), metadata
    backtests = {}
    for slug, bookings in history.groupby("property"):
        end = demand.as_of(bookings)
        first = (end - pd.Timedelta(days=HOLDOUT_DAYS)).date().isoformat()
        if (end - bookings["arrival"].min()).days > 3 * HOLDOUT_DAYS + demand.CALIBRATION_DAYS:
            backtests[str(slug)] = rolling_origin(
                bookings, first, end.date().isoformat(), max_horizon=14, report=(7, 14)
            ).as_dict()
    metadata["backtest"] = backtests
    return demand.train(history, progress), metadata


def to_parts(model: Any) -> dict[str, Any]:
    if isinstance(model, cancellation.CancellationModel):
        return {"booster": model.booster, "calibrator": model.calibrator, "words": model.words}
    return {
        "series": {
            key: {
                target: {
                    "estimator": fitted.estimator,
                    "capacity": fitted.capacity,
                    "bands": {str(upper): list(band) for upper, band in fitted.bands.items()},
                }
                for target, fitted in targets.items()
            }
            for key, targets in model.series.items()
        }
    }


def from_parts(name: str, parts: dict[str, Any]) -> Any:
    if name == cancellation.NAME:
        return cancellation.CancellationModel(parts["booster"], parts["calibrator"], parts["words"])
    model = demand.DemandModel()
    for key, targets in parts["series"].items():
        model.series[key] = {
            target: demand.SeriesModel(
                stored["estimator"],
                float(stored["capacity"]),
                {
                    int(upper): (float(low), float(high))
                    for upper, (low, high) in stored["bands"].items()
                },
            )
            for target, stored in targets.items()
        }
    return model


def train_and_store(
    registry: Registry, name: str, history: pd.DataFrame, progress: Progress = _quiet
) -> str:
    model, metadata = fit(name, history, progress)
    return registry.save(name, to_parts(model), metadata)
