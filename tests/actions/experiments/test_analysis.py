"""The Bayesian figures, the split check, the Thompson shares and the stopping rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actions.experiments.analysis import (
    Tally,
    figures,
    leader,
    sample_ratio,
    tallies,
    thompson_weights,
)
from actions.experiments.ledger import ConversionRow, ExposureRow
from bot.core.experiment_file import StoppingRule
from tests.support.clock import NOW


def test_a_clearly_better_variant_is_best_and_beats_control() -> None:
    found = figures(
        {"control": Tally(2000, 200), "warm": Tally(2000, 260), "cold": Tally(2000, 180)}, seed=7
    )
    by_name = {item.variant: item for item in found}
    assert by_name["warm"].p_best > 0.95
    assert by_name["warm"].p_beat_control > 0.99
    assert by_name["control"].p_beat_control == 0.0
    assert by_name["warm"].expected_loss < by_name["control"].expected_loss
    assert sum(item.p_best for item in found) == pytest.approx(1.0)
    for item in found:
        assert item.low < item.rate < item.high
    assert by_name["warm"].low == pytest.approx(0.1165, abs=0.002)  # Beta(261, 1741) 2.5%


def test_the_same_data_gives_the_same_figures() -> None:
    counts = {"control": Tally(50, 5), "warm": Tally(50, 7)}
    assert figures(counts, seed=1) == figures(counts, seed=1)


def test_revenue_per_user_has_an_interval_around_rate_times_mean_paid() -> None:
    amounts = tuple([40_000] * 20 + [60_000] * 20)
    [control, big] = figures({"control": Tally(400, 0), "big": Tally(400, 40, amounts)}, seed=3)
    assert control.revenue_per_user == 0
    assert big.revenue_per_user == pytest.approx(0.1 * 500, rel=0.1)
    assert big.revenue_low < big.revenue_per_user < big.revenue_high


def test_a_lopsided_split_is_a_sample_ratio_mismatch() -> None:
    even = sample_ratio({"control": 1010, "warm": 990}, {"control": 1, "warm": 1})
    off = sample_ratio({"control": 1150, "warm": 850}, {"control": 1, "warm": 1})
    assert even is not None
    assert not even.mismatch
    assert off is not None
    assert off.mismatch
    assert sample_ratio({"control": 3, "warm": 2}, {"control": 1, "warm": 1}) is None


def test_negative_goals_count_only_users_whose_window_closed() -> None:
    exposures = [
        ExposureRow("control", "a", NOW),
        ExposureRow("control", "b", NOW),
        ExposureRow("control", "late", NOW + timedelta(hours=20)),
    ]
    handoff = [ConversionRow("control", "b", "handoff", 0, NOW + timedelta(hours=1))]
    until = NOW + timedelta(hours=30)
    counts = tallies(exposures, handoff, "no_handoff", 24, until, ["control"])
    assert counts == {"control": Tally(2, 1)}
    held = tallies(exposures, handoff, "replied", 24, until, ["control"])
    assert held == {"control": Tally(3, 0)}


@given(st.lists(st.floats(0, 1), min_size=2, max_size=5), st.floats(0, 0.19))
def test_thompson_shares_add_up_and_keep_the_minimum(p_best: list[float], minimum: float) -> None:
    total = sum(p_best)
    shares = [share / total for share in p_best] if total > 0 else [1 / len(p_best)] * len(p_best)
    drawn = figures({f"v{n}": Tally(10, 1) for n in range(len(p_best))}, seed=0)
    found = [replace(item, p_best=share) for item, share in zip(drawn, shares, strict=True)]
    weights = thompson_weights(found, minimum)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert min(weights.values()) >= minimum - 1e-12
    ranked = sorted(found, key=lambda item: item.p_best)
    assert [weights[item.variant] for item in ranked] == sorted(weights.values())


def test_the_stopping_rule_wants_sample_probability_and_small_loss() -> None:
    rule = StoppingRule(probability=0.95, min_users=1000, max_loss=0.002)
    clear = figures({"control": Tally(3000, 300), "warm": Tally(3000, 420)}, seed=5)
    assert leader(clear, rule) == "warm"
    small = figures({"control": Tally(300, 30), "warm": Tally(300, 60)}, seed=5)
    assert leader(small, rule) is None
    close = figures({"control": Tally(3000, 300), "warm": Tally(3000, 310)}, seed=5)
    assert leader(close, rule) is None
