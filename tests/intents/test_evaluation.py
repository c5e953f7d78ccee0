"""The evaluation's figures: in-scope accuracy, out-of-scope precision and recall, calibration."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.types import Parse
from intents.evaluation import Case, Report, format_report


def case(intent: str, locale: str = "en") -> Case:
    return Case(line=2, text="…", locale=locale, intent=intent, entities={})


def parse(intent: str, confidence: float) -> Parse:
    return Parse(intent, confidence, {}, "en")


def test_out_of_scope_precision_recall_and_in_scope_accuracy() -> None:
    report = Report()
    report.add(case("book"), parse("book", 0.9))
    report.add(case("book"), parse("out_of_scope", 0.2))  # a guest turned away
    report.add(case("out_of_scope"), parse("out_of_scope", 0.8))
    report.add(case("out_of_scope"), parse("out_of_scope", 0.6))
    report.add(case("out_of_scope"), parse("help", 0.7))  # a foreign request let in
    scored = report.as_dict()
    assert scored["accuracy"] == pytest.approx(3 / 5)
    assert (scored["in_scope_accuracy"], scored["in_scope_cases"]) == (0.5, 2)
    assert scored["out_of_scope"] == {
        "precision": pytest.approx(2 / 3),
        "recall": pytest.approx(2 / 3),
        "support": 3,
    }
    assert "out_of_scope" in scored["per_intent"]
    text = format_report(scored)
    assert "in-scope accuracy 50.0% on 2 messages" in text
    assert "out of scope: precision 66.7%, recall 66.7% (3 expected)" in text


def test_a_file_without_in_scope_cases_has_no_in_scope_accuracy() -> None:
    report = Report()
    report.add(case("out_of_scope"), parse("out_of_scope", 0.5))
    scored = report.as_dict()
    assert scored["in_scope_accuracy"] is None
    assert "in-scope accuracy" not in format_report(scored)


def test_calibration_error_weighs_each_bin_by_its_share() -> None:
    report = Report()
    # Bin 0.9 to 1.0: confidence 0.95 twice, one right: |0.5 - 0.95| = 0.45 over 2 of 4 cases.
    report.add(case("book"), parse("book", 0.95))
    report.add(case("book"), parse("faq", 0.95))
    # Bin 0.6 to 0.7: confidence 0.65 twice, both right: |1 - 0.65| = 0.35 over 2 of 4 cases.
    report.add(case("faq"), parse("faq", 0.65))
    report.add(case("pay"), parse("pay", 0.65))
    assert report.as_dict()["expected_calibration_error"] == pytest.approx(0.5 * 0.45 + 0.5 * 0.35)


@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=50))
def test_calibration_error_is_between_zero_and_one(cases: list[tuple[float, bool]]) -> None:
    report = Report()
    for confidence, right in cases:
        report.add(case("book"), parse("book" if right else "faq", confidence))
    assert 0.0 <= report.expected_calibration_error() <= 1.0


def test_a_model_as_sure_as_it_is_right_is_calibrated() -> None:
    report = Report()
    for index in range(10):  # 80% sure and right 8 times out of 10
        report.add(case("book"), parse("book" if index < 8 else "faq", 0.8))
    assert report.expected_calibration_error() == pytest.approx(0.0)
