"""Held-out quality of the shipped model: messages written apart from the training data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from intents.evaluation import Report, read_cases
from intents.understanding import ModelUnderstanding

HELD_OUT = sorted((Path(__file__).parents[1] / "data").glob("nlu_heldout_*.csv"))


@pytest.fixture(scope="module")
def report(understanding: ModelUnderstanding) -> dict[str, object]:
    async def score() -> dict[str, object]:
        scored = Report()
        for path in HELD_OUT:
            for case in read_cases(path):
                scored.add(case, await understanding.parse(case.text, case.locale))
        return scored.as_dict()

    return asyncio.run(score())


def test_every_locale_has_held_out_data() -> None:
    assert [path.stem for path in HELD_OUT] == [
        "nlu_heldout_en",
        "nlu_heldout_es",
        "nlu_heldout_pt_BR",
    ]


def test_intent_accuracy_meets_the_targets(report: dict[str, object]) -> None:
    assert report["accuracy"] >= 0.95  # type: ignore[operator]
    per_locale = report["per_locale"]
    assert isinstance(per_locale, dict)
    assert set(per_locale) == {"en", "es", "pt-BR"}
    assert all(accuracy >= 0.92 for accuracy in per_locale.values()), per_locale


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
