"""The figures of an experiment, without I/O: per variant the users, conversions and rate with
a 95% credible interval (Beta(1 + conversions, 1 + failures)), the probability to beat control
and to be best and the expected loss (Monte Carlo draws from the posteriors, seeded so the same
data gives the same figures), revenue per user with an interval, the sample-ratio check, the
Thompson allocation and the stopping rule.

Revenue per user is the paid rate times the mean amount paid: the rate from its Beta posterior,
the mean from a Bayesian bootstrap over the paying users (Dirichlet weights), so a few large
bookings widen the interval as they should.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from actions.experiments.ledger import ConversionRow, ExposureRow
from bot.core.experiment_file import CONTROL, StoppingRule

DRAWS = 20_000
SRM_P_VALUE = 0.001
"""Below this the split is off (the usual threshold: a real mismatch, not bad luck)."""
NEGATIVE = {"no_handoff": "handoff", "understood": "out_of_scope"}
"""Goals met by an event not happening within the attribution window."""
EVENT_OF_GOAL = {"revenue": "booking_paid"}


@dataclass(frozen=True, slots=True)
class Tally:
    users: int
    conversions: int
    amounts: tuple[int, ...] = ()
    """What each paying user paid (cents): the revenue goal's."""


@dataclass(frozen=True, slots=True)
class VariantFigures:
    variant: str
    users: int
    conversions: int
    rate: float
    low: float
    high: float
    p_beat_control: float
    p_best: float
    expected_loss: float
    revenue_per_user: float = 0.0
    revenue_low: float = 0.0
    revenue_high: float = 0.0


@dataclass(frozen=True, slots=True)
class SampleRatio:
    chi2: float
    p_value: float
    expected: dict[str, float] = field(default_factory=dict)

    @property
    def mismatch(self) -> bool:
        return self.p_value < SRM_P_VALUE


def tallies(
    exposures: Iterable[ExposureRow],
    conversions: Iterable[ConversionRow],
    goal: str,
    window_hours: float,
    until: datetime,
    variants: Sequence[str],
) -> dict[str, Tally]:
    """Users and conversions per variant as of ``until``. A goal met by something not
    happening counts only the users whose window has closed (the others may still fail it)."""
    event = NEGATIVE.get(goal, EVENT_OF_GOAL.get(goal, goal))
    last_exposure = until - timedelta(hours=window_hours) if goal in NEGATIVE else until
    exposed = {row.subject: row.variant for row in exposures if row.at <= last_exposure}
    happened: dict[str, int] = {}
    for row in conversions:
        if row.event == event and row.at <= until and row.subject in exposed:
            happened[row.subject] = row.value
    counts: dict[str, Tally] = {}
    for variant in variants:
        users = [subject for subject, seen in exposed.items() if seen == variant]
        met = [subject for subject in users if subject in happened]
        converted = len(users) - len(met) if goal in NEGATIVE else len(met)
        amounts = tuple(happened[subject] for subject in met) if goal == "revenue" else ()
        counts[variant] = Tally(len(users), converted, amounts)
    return counts


def posterior_draws(
    counts: Mapping[str, Tally], draws: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """``draws`` by variants samples of each variant's rate."""
    return np.column_stack(
        [
            rng.beta(1 + tally.conversions, 1 + tally.users - tally.conversions, draws)
            for tally in counts.values()
        ]
    )


def figures(
    counts: Mapping[str, Tally], seed: int, draws: int = DRAWS, control: str = CONTROL
) -> list[VariantFigures]:
    rng = np.random.default_rng(seed)
    names = list(counts)
    samples = posterior_draws(counts, draws, rng)
    best = samples.max(axis=1)
    winners = np.bincount(samples.argmax(axis=1), minlength=len(names))
    reference = samples[:, names.index(control)] if control in names else best
    result = []
    for index, (name, tally) in enumerate(counts.items()):
        # The credible interval from the posterior draws made anyway (20,000 of them: within
        # about 0.0002 of the exact Beta quantiles), so the periodic optimisation in every
        # worker does not import scipy (docs/benchmarks.md, "Memory per worker").
        low, high = np.quantile(samples[:, index], [0.025, 0.975])
        revenue = _revenue(tally, samples[:, index], rng) if tally.amounts else np.zeros(1)
        result.append(
            VariantFigures(
                variant=name,
                users=tally.users,
                conversions=tally.conversions,
                rate=tally.conversions / tally.users if tally.users else 0.0,
                low=float(low),
                high=float(high),
                p_beat_control=float(np.mean(samples[:, index] > reference)),
                p_best=float(winners[index] / draws),
                expected_loss=float(np.mean(best - samples[:, index])),
                revenue_per_user=float(np.mean(revenue)),
                revenue_low=float(np.quantile(revenue, 0.025)),
                revenue_high=float(np.quantile(revenue, 0.975)),
            )
        )
    return result


def _revenue(
    tally: Tally, rates: NDArray[np.float64], rng: np.random.Generator
) -> NDArray[np.float64]:
    amounts = np.asarray(tally.amounts, dtype=float) / 100
    weights = rng.dirichlet(np.ones(len(amounts)), len(rates))
    return rates * (weights @ amounts)


def sample_ratio(users: Mapping[str, int], weights: Mapping[str, float]) -> SampleRatio | None:
    """The chi-square test of the users per variant against the declared split; None with too
    few users to tell (fewer than 5 expected in a variant)."""
    from scipy.stats import chisquare

    total = sum(users.values())
    share = sum(weights.values())
    expected = {name: total * weights[name] / share for name in users}
    if min(expected.values(), default=0) < 5:
        return None
    observed = [users[name] for name in users]
    chi2, p_value = chisquare(observed, [expected[name] for name in users])
    return SampleRatio(float(chi2), float(p_value), expected)


def thompson_weights(found: Sequence[VariantFigures], min_share: float) -> dict[str, float]:
    """Each variant's share of new users: its probability to be best (what sampling one draw
    per user from the posteriors gives on average), never below ``min_share``."""
    free = 1 - min_share * len(found)
    return {item.variant: min_share + free * item.p_best for item in found}


def leader(found: Sequence[VariantFigures], rule: StoppingRule) -> str | None:
    """The variant that meets the stopping rule now (the rule also wants it ``checks`` times
    in a row), or None."""
    top = max(found, key=lambda item: item.p_best)
    enough = all(item.users >= rule.min_users for item in found)
    if enough and top.p_best > rule.probability and top.expected_loss < rule.max_loss:
        return top.variant
    return None


def timeline(
    exposures: Sequence[ExposureRow],
    conversions: Sequence[ConversionRow],
    goal: str,
    window_hours: float,
    variants: Sequence[str],
    until: datetime,
    seed: int,
    points: int = 12,
) -> list[tuple[datetime, dict[str, float]]]:
    """The probability to be best of each variant at ``points`` moments from the first
    exposure to ``until`` (fewer draws: it is a picture)."""
    if not exposures:
        return []
    start = exposures[0].at
    moments = [start + (until - start) * (step + 1) / points for step in range(points)]
    history = []
    for moment in moments:
        counts = tallies(exposures, conversions, goal, window_hours, moment, variants)
        found = figures(counts, seed, draws=4000)
        history.append((moment, {item.variant: item.p_best for item in found}))
    return history


def as_json(found: Sequence[VariantFigures]) -> list[dict[str, Any]]:
    return [asdict(item) for item in found]
