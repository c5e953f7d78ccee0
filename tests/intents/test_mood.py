"""The mood model on held-out lines it never saw (tests/data/mood_heldout.csv), in pt-BR, en
and es: how many frustrated messages it finds, and how few calm ones it takes for angry."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intents.mood import FRUSTRATED, MoodModel, load_or_train

HELD_OUT = Path(__file__).resolve().parents[1] / "data" / "mood_heldout.csv"
MIN_PRECISION = 0.9
MIN_RECALL = 0.75


@pytest.fixture(scope="module")
def mood(tmp_path_factory: pytest.TempPathFactory) -> MoodModel:
    return load_or_train(tmp_path_factory.mktemp("mood"))


def test_held_out_precision_and_recall(mood: MoodModel) -> None:
    with HELD_OUT.open(encoding="utf-8") as lines:
        rows = list(csv.DictReader(lines))
    assert {row["locale"] for row in rows} == {"pt-BR", "en", "es"}
    said = [(mood.frustration(row["text"]) >= FRUSTRATED, row["frustrated"] == "1") for row in rows]
    found = sum(1 for guess, truth in said if guess and truth)
    precision = found / max(1, sum(1 for guess, _ in said if guess))
    recall = found / sum(1 for _, truth in said if truth)
    print(f"mood held-out: precision {precision:.2f} recall {recall:.2f} on {len(rows)} lines")
    assert precision >= MIN_PRECISION
    assert recall >= MIN_RECALL


def test_a_stored_model_reads_the_same(mood: MoodModel, tmp_path: Path) -> None:
    mood.save(tmp_path / "mood.json")
    again = MoodModel.load(tmp_path / "mood.json")
    for text in ("que absurdo!!", "quero reservar", "WORST EVER", "gracias"):
        assert again.frustration(text) == pytest.approx(mood.frustration(text))


@given(text=st.text(max_size=300))
def test_any_text_reads_between_calm_and_angry(mood: MoodModel, text: str) -> None:
    assert 0.0 <= mood.frustration(text) <= 1.0
