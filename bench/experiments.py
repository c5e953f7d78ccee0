"""Fixed 1/3 splits against Thompson sampling, on simulated users with known conversion rates.

    .venv/bin/python bench/experiments.py [--seeds 200] [--users 20000] [--batch 500]

Each seed simulates ``--users`` users arriving in batches of ``--batch`` (the allocation job's
period); after each batch the allocation run of ``actions/experiments`` is replayed with the
same code: the figures (``analysis.figures``), the Thompson shares (``thompson_weights``, minimum
share 5%) and the stopping rule (``leader``, the default rule: probability to be best above 0.95
at 3 runs in a row, at least 500 users per variant, expected loss below 0.2 points). Once the
rule picks a winner, it serves every later user. Both strategies see the same users (the same
seed); the fixed split also stops by the rule.

Prints, per strategy: the regret (conversions lost to worse variants, against always showing the
best one: expected, from the true rates), how many users it took until the rule picked a winner,
how often the pick was wrong or never came, and writes ``bench/results/experiments.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from actions.experiments.analysis import Tally, figures, leader, thompson_weights
from bot.core.experiment_file import StoppingRule

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "bench" / "results" / "experiments.json"
TRUE_RATES = {"control": 0.10, "warm": 0.12, "short": 0.09}
BEST = max(TRUE_RATES, key=TRUE_RATES.__getitem__)
MIN_SHARE = 0.05
DRAWS = 10_000


@dataclass(frozen=True, slots=True)
class Run:
    regret: float
    stopped_after: int | None
    """Users seen when the stopping rule picked a winner; None: it never did."""
    winner: str | None


def simulate(strategy: str, seed: int, users: int, batch: int, rule: StoppingRule) -> Run:
    rng = np.random.default_rng(seed)
    names = list(TRUE_RATES)
    rates = np.array([TRUE_RATES[name] for name in names])
    shares = np.full(len(names), 1 / len(names))
    exposed = np.zeros(len(names), dtype=int)
    converted = np.zeros(len(names), dtype=int)
    regret, streak, leading = 0.0, 0, None
    winner: str | None = None
    stopped_after = None
    for start in range(0, users, batch):
        size = min(batch, users - start)
        if winner is not None:
            regret += size * (rates.max() - TRUE_RATES[winner])
            continue
        chosen = rng.choice(len(names), size=size, p=shares)
        regret += float(np.sum(rates.max() - rates[chosen]))
        conversions = rng.random(size) < rates[chosen]
        exposed += np.bincount(chosen, minlength=len(names))
        converted += np.bincount(chosen, weights=conversions, minlength=len(names)).astype(int)
        counts = {
            name: Tally(int(exposed[index]), int(converted[index]))
            for index, name in enumerate(names)
        }
        found = figures(counts, seed=seed * 1000 + start // batch, draws=DRAWS)
        now_leading = leader(found, rule)
        streak = streak + 1 if now_leading is not None and now_leading == leading else 1
        leading = now_leading
        if leading is not None and streak >= rule.checks:
            winner, stopped_after = leading, start + size
        elif strategy == "thompson":
            weights = thompson_weights(found, MIN_SHARE)
            shares = np.array([weights[name] for name in names])
            shares /= shares.sum()
    return Run(regret, stopped_after, winner)


def summary(runs: list[Run]) -> dict[str, float | int | None]:
    stopped = [run.stopped_after for run in runs if run.stopped_after is not None]
    right = [run for run in runs if run.winner == BEST]
    return {
        "regret_mean": round(statistics.fmean(run.regret for run in runs), 1),
        "regret_p90": round(float(np.quantile([run.regret for run in runs], 0.9)), 1),
        "stopped_share": round(len(stopped) / len(runs), 3),
        "users_to_stop_median": int(statistics.median(stopped)) if stopped else None,
        "users_to_right_winner_median": int(statistics.median(r.stopped_after for r in right))  # type: ignore[type-var]
        if right
        else None,
        "wrong_pick_share": round(
            sum(run.winner not in (None, BEST) for run in runs) / len(runs), 3
        ),
        "no_pick_share": round(sum(run.winner is None for run in runs) / len(runs), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    arguments = parser.parse_args()
    rule = StoppingRule()
    results: dict[str, object] = {
        "true_rates": TRUE_RATES,
        "users": arguments.users,
        "batch": arguments.batch,
        "seeds": arguments.seeds,
        "rule": rule.model_dump(),
    }
    for strategy in ("fixed", "thompson"):
        runs = [
            simulate(strategy, seed, arguments.users, arguments.batch, rule)
            for seed in tqdm(range(arguments.seeds), desc=strategy, unit="seed")
        ]
        results[strategy] = summary(runs)
        print(strategy, json.dumps(results[strategy]))
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
