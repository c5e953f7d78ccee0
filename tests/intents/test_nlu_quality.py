"""Held-out quality of the shipped model: messages written apart from the training data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from intents.dataset import load_examples
from intents.evaluation import Report, read_cases
from intents.text import for_features
from intents.understanding import ModelUnderstanding

DATA = Path(__file__).parents[1] / "data"
HELD_OUT = sorted(DATA.glob("nlu_heldout_*.csv"))


def scored(understanding: ModelUnderstanding, paths: list[Path]) -> dict[str, object]:
    async def score() -> dict[str, object]:
        report = Report()
        for path in paths:
            for case in read_cases(path):
                report.add(case, await understanding.parse(case.text, case.locale))
        return report.as_dict()

    return asyncio.run(score())


@pytest.fixture(scope="module")
def report(understanding: ModelUnderstanding) -> dict[str, object]:
    return scored(understanding, HELD_OUT)


@pytest.fixture(scope="module")
def keywords(understanding: ModelUnderstanding) -> dict[str, object]:
    """One word ("preço", "precio", "wifi") and costs ("¿cuál es el costo de una habitación?"),
    written apart from the training lines (none of them is one)."""
    return scored(understanding, [DATA / "nlu_keywords_heldout.csv"])


def test_every_locale_has_held_out_data() -> None:
    assert [path.stem for path in HELD_OUT] == [
        "nlu_heldout_en",
        "nlu_heldout_es",
        "nlu_heldout_pt_BR",
    ]


def test_intent_accuracy_meets_the_targets(report: dict[str, object]) -> None:
    assert report["accuracy"] >= 0.97  # type: ignore[operator]
    assert report["in_scope_accuracy"] >= 0.97  # type: ignore[operator]
    per_locale = report["per_locale"]
    assert isinstance(per_locale, dict)
    assert set(per_locale) == {"en", "es", "pt-BR"}
    assert all(accuracy >= 0.95 for accuracy in per_locale.values()), per_locale


def test_keyword_and_cost_questions_are_understood(keywords: dict[str, object]) -> None:
    assert keywords["cases"] >= 150  # type: ignore[operator]
    assert keywords["accuracy"] >= 0.90  # type: ignore[operator]
    per_locale = keywords["per_locale"]
    assert isinstance(per_locale, dict)
    assert all(accuracy >= 0.90 for accuracy in per_locale.values()), per_locale


def test_a_bare_price_is_never_a_forecast(keywords: dict[str, object]) -> None:
    """Forecasts are for staff asking about occupancy or pricing strategy, not a guest's "price"."""
    assert not [
        error
        for error in keywords["errors"]  # type: ignore[attr-defined]
        if error["predicted"] == "forecast" and len(error["text"].split()) == 1
    ]


def test_topics_no_training_line_covers_are_out_of_scope(understanding: ModelUnderstanding) -> None:
    """Pets, gardening, games, homework, gadgets, gossip, horoscopes, housing, dating, fashion,
    insurance and careers: no training file has a line about them."""
    foreign = scored(understanding, [DATA / "nlu_out_of_domain_heldout.csv"])
    assert foreign["out_of_scope"]["recall"] >= 0.90  # type: ignore[index]


@pytest.mark.parametrize("name", ["nlu_keywords_heldout.csv", "nlu_out_of_domain_heldout.csv"])
def test_no_training_line_is_a_held_out_line(name: str) -> None:
    """The files for messages unlike the training data stay unlike it as lines are added."""
    training = {for_features(example.text).strip() for example in load_examples()}
    assert [
        case.text for case in read_cases(DATA / name) if for_features(case.text).strip() in training
    ] == []


def test_every_entity_key_has_90_percent_precision_and_recall(report: dict[str, object]) -> None:
    entities = report["entities"]
    assert isinstance(entities, dict)
    assert set(entities) >= {
        "checkin",
        "checkout",
        "nights",
        "adults",
        "children",
        "email",
        "booking_code",
    }
    weak = {
        key: scores
        for key, scores in entities.items()
        if scores["precision"] < 0.9 or scores["recall"] < 0.9
    }
    assert weak == {}
