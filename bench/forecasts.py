"""Benchmark of the forecast models on the public Hotel Booking Demand data (119,390 bookings).

1. Cancellation: train on arrivals before 2017-01-01, test on 2017-01-01 to 2017-08-31;
   ROC AUC, Brier score (calibrated and raw) and a calibration plot (docs/img/).
2. Demand: rolling-origin backtest of daily arrivals over 2017-06-01 to 2017-08-31 for each
   hotel, horizons 1-30: MAPE at h = 7 and 30 against seasonal naive (same weekday last week
   for h <= 7, last year beyond) and the coverage of the 80% interval.
3. Speed: training the cancellation model on every booking, batched scoring, and interactive
   answers (demand forecast + chart) through the forecast desk on the demo property.

    .venv/bin/python bench/forecasts.py [PATH]   # default ../shared/data/hotel_bookings.csv.zip

A Markdown table goes to stdout, JSON to bench/results/forecasts.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actions.forecasts import cancellation, charts, demand
from actions.forecasts.backtest import rolling_origin
from actions.forecasts.history import to_frame
from actions.forecasts.importer import public_rows
from actions.forecasts.synthetic import generate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = Path("../shared/data/hotel_bookings.csv.zip")
WORDS = {"forecast": "forecast", "interval": "80% interval", "last_year": "last year",
         "on_books": "on the books", "occupancy": "occupancy (%)"}  # fmt: skip


def cancellation_bench(frame: pd.DataFrame) -> dict[str, float]:
    train, test = cancellation.temporal_split(frame, "2017-01-01", "2017-08-31")
    started = time.perf_counter()
    model = cancellation.train(train)
    fit_seconds = time.perf_counter() - started
    truth = test["is_canceled"].astype(int).to_numpy()
    calibrated, raw = model.predict(test), model.raw(test)
    result = {
        "train_rows": len(train), "test_rows": len(test),
        "roc_auc": roc_auc_score(truth, calibrated),
        "brier": brier_score_loss(truth, calibrated),
        "brier_raw": brier_score_loss(truth, raw),
        "brier_base_rate": brier_score_loss(truth, np.full(len(truth), truth_rate(train))),
        "fit_seconds_split": fit_seconds,
    }  # fmt: skip
    figure = Figure(figsize=(4.5, 4.2))
    axes = figure.subplots()
    for scores, label in ((calibrated, "calibrated"), (raw, "booster")):
        observed, predicted = calibration_curve(truth, scores, n_bins=10, strategy="quantile")
        axes.plot(predicted, observed, marker="o", label=label)
    axes.plot([0, 1], [0, 1], ls=":", color="grey", label="perfect")
    axes.set_xlabel("predicted probability of cancelling")
    axes.set_ylabel("share that cancelled")
    axes.set_title(f"2017-01..08 test, AUC {result['roc_auc']:.3f}", fontsize=10)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(ROOT / "docs" / "img" / "forecast_calibration.png", dpi=90)
    return result


def truth_rate(history: pd.DataFrame) -> float:
    return float(history["is_canceled"].mean())


def demand_bench(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    results = {}
    for hotel in sorted(frame["property"].unique()):
        backtest = rolling_origin(
            frame[frame["property"] == hotel],
            "2017-06-01",
            "2017-08-31",
            max_horizon=30,
            report=(1, 7, 14, 30),
        )
        results[hotel] = backtest.as_dict()
    return results


def speed_bench(frame: pd.DataFrame) -> dict[str, float]:
    started = time.perf_counter()
    model = cancellation.train(frame)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    model.predict(frame)
    score_seconds = time.perf_counter() - started
    started = time.perf_counter()
    demand_model = demand.train(frame)
    demand_seconds = time.perf_counter() - started
    return {
        "rows": len(frame),
        "cancellation_train_seconds": train_seconds,
        "scoring_per_minute": len(frame) / score_seconds * 60,
        "demand_train_seconds": demand_seconds,
        "demand_series": len(demand_model.series),
    }


def answer_bench(calls: int = 40) -> dict[str, float]:
    """p50/p95 of one demand answer on the demo property (forecast + chart), warm models."""
    today = datetime.now(UTC).date()
    history = to_frame(generate("pousada-do-mar", today))
    model = demand.train(history)
    timings = []
    for index in range(calls + 3):
        started = time.perf_counter()
        days = 30 + index % 30
        table = demand.forecast(model, history, "pousada-do-mar", pd.Timestamp(today), days)
        charts.demand_chart(table, WORDS, "Pousada do Mar")
        if index >= 3:
            timings.append(time.perf_counter() - started)
    return {
        "p50_ms": 1000 * float(np.percentile(timings, 50)),
        "p95_ms": 1000 * float(np.percentile(timings, 95)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT)
    arguments = parser.parse_args()
    started = time.perf_counter()
    frame = to_frame(public_rows(arguments.path))
    read_seconds = time.perf_counter() - started
    print(f"read {len(frame)} bookings in {read_seconds:.1f} s", file=sys.stderr)
    results = {"read_seconds": read_seconds, "cancellation": cancellation_bench(frame)}
    print(json.dumps(results["cancellation"]), file=sys.stderr)
    results["demand"] = demand_bench(frame)
    print(json.dumps(results["demand"]), file=sys.stderr)
    results["speed"] = speed_bench(frame)
    results["answer"] = answer_bench()
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "forecasts.json").write_text(json.dumps(results, indent=2))
    c, s, a = results["cancellation"], results["speed"], results["answer"]
    print("| measure | value |\n|---|---|")
    print(f"| cancellation ROC AUC (2017-01..08) | {c['roc_auc']:.3f} |")
    print(
        f"| Brier calibrated / booster / base rate | {c['brier']:.4f} / {c['brier_raw']:.4f} / "
        f"{c['brier_base_rate']:.4f} |"
    )
    for hotel, backtest in results["demand"].items():
        mape, naive = backtest["mape"], backtest["naive_mape"]  # type: ignore[index]
        print(
            f"| {hotel} MAPE h=7 / h=30 (naive) | {mape['7']:.1%} / {mape['30']:.1%} "
            f"({naive['7']:.1%} / {naive['30']:.1%}) |"
        )
        print(f"| {hotel} 80% interval coverage | {backtest['coverage_80']:.1%} |")
    print(f"| cancellation training, {s['rows']} rows | {s['cancellation_train_seconds']:.1f} s |")
    print(f"| batched scoring | {s['scoring_per_minute']:,.0f} / minute |")
    print(
        f"| demand training, {s['demand_series']:.0f} series | {s['demand_train_seconds']:.1f} s |"
    )
    print(f"| demand answer with chart p50 / p95 | {a['p50_ms']:.0f} / {a['p95_ms']:.0f} ms |")


if __name__ == "__main__":
    main()
