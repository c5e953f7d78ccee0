"""Rolling-origin backtest of daily arrivals: the model against seasonal naive.

Every origin in the window forecasts horizons 1 to ``max_horizon``; the model is refitted at
the first origin of each month on everything known by then, as it would be in service.
Seasonal naive is the same weekday last week for h <= 7 and the same weekday last year beyond.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from actions.forecasts.demand import YEAR, fit_series, panel, rows


@dataclass(frozen=True, slots=True)
class Backtest:
    mape: dict[int, float]
    naive_mape: dict[int, float]
    coverage: float
    forecasts: int

    def as_dict(self) -> dict[str, object]:
        return {
            "mape": {str(h): v for h, v in self.mape.items()},
            "naive_mape": {str(h): v for h, v in self.naive_mape.items()},
            "coverage_80": self.coverage,
            "forecasts": self.forecasts,
        }


def rolling_origin(
    history: pd.DataFrame,
    first_day: str,
    last_day: str,
    max_horizon: int = 30,
    report: Iterable[int] = (1, 7, 14, 30),
    target: str = "arrivals",
) -> Backtest:
    """Targets from ``first_day`` to ``last_day``; origins from the day before the first."""
    series = panel(history, target)
    first, last = series.index(pd.Timestamp(first_day)), series.index(pd.Timestamp(last_day))
    horizons = range(1, max_horizon + 1)
    errors: dict[int, list[float]] = {h: [] for h in horizons}
    naive_errors: dict[int, list[float]] = {h: [] for h in horizons}
    inside = total = 0
    origins = list(range(first - 1, last))
    for month_start in _month_starts(series, origins):
        month = [o for o in origins if series.days[o].to_period("M") == month_start]
        model = fit_series(series, month[0], horizons)
        features, day, truth = rows(series, month, horizons, last)
        predicted = model.predict(features)
        for h in horizons:
            chosen = (features["horizon"].to_numpy() == h) & ~np.isnan(truth) & (truth > 0)
            actual = truth[chosen]
            lag = 7 if h <= 7 else YEAR
            naive = series.final[day[chosen] - lag]
            errors[h] += list(np.abs(predicted[chosen, 1] - actual) / actual)
            naive_errors[h] += list(np.abs(naive - actual) / actual)
            inside += int(
                ((predicted[chosen, 0] <= actual) & (actual <= predicted[chosen, 2])).sum()
            )
            total += int(chosen.sum())
    return Backtest(
        mape={h: _mean(errors[h]) for h in report},
        naive_mape={h: _mean(naive_errors[h]) for h in report},
        coverage=inside / max(total, 1),
        forecasts=total,
    )


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def _month_starts(series: object, origins: list[int]) -> list[pd.Period]:
    days = series.days  # type: ignore[attr-defined]
    return sorted({days[o].to_period("M") for o in origins})
