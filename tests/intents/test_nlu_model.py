"""Model artifacts: keyed by data and code, trained when stale, loaded only when safe; the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import skops.io as skops
import yaml

from bot.root.settings import PACKAGE_ROOT
from intents import classifier
from intents.artifacts import ModelStore, artifact_key, load_or_train
from intents.dataset import LABELS, load_examples

TINY = {
    "pt_BR": {
        "greet": ["oi", "bom dia", "ola tudo bem", "eae"],
        "book": ["quero reservar", "tem vaga?", "reserva pra dois", "quero um quarto"],
    },
    "en": {
        "greet": ["hi", "hello there", "good morning", "hey"],
        "book": ["i want to book", "any rooms free?", "book a room for two", "need a room"],
    },
}


def write_tiny_data(folder: Path, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for locale, intents in TINY.items():
        document = {"locale": locale, "intents": intents}
        text = yaml.safe_dump(document, allow_unicode=True) + extra
        (folder / f"{locale}.yaml").write_text(text, encoding="utf-8")
    return folder


def test_the_key_follows_the_training_data(tmp_path: Path) -> None:
    data = write_tiny_data(tmp_path / "data")
    before = artifact_key(data)
    assert artifact_key(data) == before
    write_tiny_data(data, extra="# a comment changes the file\n")
    assert artifact_key(data) != before


def test_a_stale_model_is_trained_and_a_current_one_loaded(tmp_path: Path) -> None:
    data = write_tiny_data(tmp_path / "data")
    store = ModelStore(tmp_path / "models")
    model, key = load_or_train(store, 0.3, data)
    assert store.model_path(key).exists()
    metadata = json.loads(store.metadata_path(key).read_text())
    assert (metadata["key"], metadata["examples"]) == (key, 16)
    assert model.read("oi, bom dia").intent.label == "greet"
    again, same_key = load_or_train(store, 0.3, data)
    assert same_key == key
    assert again.read("i want to book a room").intent.label == "book"
    write_tiny_data(data, extra="# changed\n")
    _, new_key = load_or_train(store, 0.3, data)
    assert new_key != key
    assert store.model_path(new_key).exists()


def test_a_model_file_with_foreign_types_is_refused(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    skops.dump({"features": os.system, "intents": None, "languages": None}, store.model_path("bad"))
    with pytest.raises(ValueError, match="not trusted"):
        store.load("bad", 0.3)


def test_training_data_uses_only_known_labels_and_is_large_enough() -> None:
    examples = load_examples()
    assert {example.intent for example in examples} == set(LABELS)
    for locale in ("pt_BR", "en", "es"):
        for label in LABELS:
            count = sum(1 for e in examples if e.locale == locale and e.intent == label)
            assert count >= 40, (locale, label, count)


def test_unquoted_yaml_booleans_are_refused(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text("locale: en\nintents:\n  affirm: [yes, ok]\n")
    with pytest.raises(ValueError, match="quote it"):
        load_examples(tmp_path)


def test_cross_validation_reports_each_locale(tmp_path: Path) -> None:
    examples = load_examples(write_tiny_data(tmp_path / "data"))
    validation = classifier.cross_validate(examples, 0.0, folds=2, margin=0.0)
    assert set(validation.per_locale) == {"pt_BR", "en"}
    # Both locales hold as many examples, so the overall figure is the mean of theirs.
    assert validation.accuracy == pytest.approx(sum(validation.per_locale.values()) / 2)
    assert validation.accuracy > 0.5, "better than a coin between two intents"
    unsure_of_everything = classifier.cross_validate(examples, 1.01, folds=2)
    assert unsure_of_everything.accuracy == 0.0


def rsv360(*arguments: str, models_dir: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "RSV_MODELS_DIR": str(models_dir), "RSV_DATA_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        cwd=PACKAGE_ROOT,
    )


def test_nlu_parse_prints_json(models_dir: Path, tmp_path: Path) -> None:
    finished = rsv360(
        "nlu",
        "parse",
        "tem vaga pro fim de semana? somos um casal",
        "--today",
        "2026-12-02",
        models_dir=models_dir,
        tmp_path=tmp_path,
    )
    assert finished.returncode == 0, finished.stderr
    parsed = json.loads(finished.stdout)
    assert parsed["intent"]["name"] == "book"
    assert 0 < parsed["intent"]["confidence"] <= 1
    assert parsed["locale"] == "pt-BR"
    assert 0 <= parsed["entities"].pop("frustration") <= 1
    assert parsed["entities"] == {"checkin": "2026-12-05", "checkout": "2026-12-07", "adults": 2}


def test_nlu_evaluate_reports_as_json(models_dir: Path, tmp_path: Path) -> None:
    cases = tmp_path / "cases.csv"
    cases.write_text(
        "text,locale,intent,entities\n"
        "oi,pt-BR,greet,{}\n"
        '"quero reservar dia 20/12",pt-BR,book,"{""checkin"": ""2026-12-20""}"\n'
        "hello,en,thanks,{}\n",
        encoding="utf-8",
    )
    finished = rsv360(
        "nlu",
        "evaluate",
        str(cases),
        "--today",
        "2026-12-02",
        "--json",
        models_dir=models_dir,
        tmp_path=tmp_path,
    )
    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout)
    assert report["accuracy"] == pytest.approx(2 / 3)
    assert report["per_locale"] == {"en": 0.0, "pt-BR": 1.0}
    assert report["entities"]["checkin"] == {"precision": 1.0, "recall": 1.0, "support": 1}
    assert [error["line"] for error in report["errors"]] == [4]
    assert report["per_intent"]["greet"]["recall"] == 1.0
    assert (report["in_scope_accuracy"], report["in_scope_cases"]) == (pytest.approx(2 / 3), 3)
    assert report["out_of_scope"] == {"precision": 1.0, "recall": 1.0, "support": 0}
    assert 0 < report["expected_calibration_error"] < 1


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("text,intent\noi,greet\n", ":1: the header"),
        ("text,locale,intent,entities\noi,pt-BR,greet\n", ":2: expected 4 columns"),
        ("text,locale,intent,entities\noi,pt-BR,greet,{}\nola,pt-BR,hello,{}\n", ":3: unknown"),
        ("text,locale,intent,entities\noi,pt-BR,greet,{oops\n", ":2: entities is not JSON"),
    ],
)
def test_nlu_evaluate_names_the_malformed_line(
    models_dir: Path, tmp_path: Path, content: str, problem: str
) -> None:
    cases = tmp_path / "bad.csv"
    cases.write_text(content, encoding="utf-8")
    finished = rsv360("nlu", "evaluate", str(cases), models_dir=models_dir, tmp_path=tmp_path)
    assert finished.returncode == 2
    assert problem in finished.stderr


def test_direct_scoring_equals_scikit_learns_predict_proba(tmp_path: Path) -> None:
    import numpy as np
    from scipy import sparse

    model = classifier.train(load_examples(write_tiny_data(tmp_path / "data")), 0.0)
    for text in ("oi, bom dia", "book a room for two", "¿hola?", ""):
        vector = sparse.hstack(
            [vectorizer.transform([text]) for _, vectorizer in model.features.transformer_list]
        )
        direct = classifier.probabilities(model.intents, vector)
        reference = model.intents.predict_proba(model.features.transform([text]))[0]
        assert np.allclose(direct, reference)
        languages = classifier.probabilities(model.languages, vector)
        assert np.allclose(
            languages, model.languages.predict_proba(model.features.transform([text]))[0]
        )


def write_topics(folder: Path) -> Path:
    """The tiny data plus out-of-scope lines per topic, questions about the bot among them."""
    write_tiny_data(folder)
    topics = {
        "locale": "en",
        "out_of_scope_topics": {
            "cooking": ["recipe for lasagna", "how do i boil an egg", "best cake recipe"],
            "persona": ["are you a robot", "who made you", "are you human", "what are you"],
        },
    }
    (folder / "en.out_of_domain.yaml").write_text(yaml.safe_dump(topics), encoding="utf-8")
    return folder


def test_topic_lines_train_as_out_of_scope_and_keep_their_topic(tmp_path: Path) -> None:
    examples = load_examples(write_topics(tmp_path / "data"))
    by_topic = {(e.topic, e.intent) for e in examples if e.topic}
    assert by_topic == {("cooking", "out_of_scope"), ("persona", "out_of_scope")}
    assert all(e.locale == "en" for e in examples if e.topic)
    assert {e.topic for e in examples if e.intent != "out_of_scope"} == {""}


def test_a_file_with_neither_intents_nor_topics_is_refused(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text("locale: en\nout_of_scope_topics: {}\n")
    with pytest.raises(ValueError, match="neither intents nor out_of_scope_topics"):
        load_examples(tmp_path)


def test_unquoted_booleans_in_topics_are_refused(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text("locale: en\nout_of_scope_topics:\n  chat: [no, 'ok']\n")
    with pytest.raises(ValueError, match="quote it"):
        load_examples(tmp_path)


def test_questions_about_the_bot_are_out_of_scope_with_the_persona_topic(tmp_path: Path) -> None:
    model = classifier.train(load_examples(write_topics(tmp_path / "data")), 0.0, margin=0.0)
    assert "persona" in model.intents.classes_
    about_the_bot = model.read("are you a robot?")
    assert (about_the_bot.intent.label, about_the_bot.topic) == ("out_of_scope", "persona")
    assert not about_the_bot.rejected
    cooking = model.read("lasagna recipe")
    assert (cooking.intent.label, cooking.topic) == ("out_of_scope", "")
    assert model.read("i want to book a room").intent.label == "book"


def test_two_intents_too_close_to_call_are_out_of_scope(tmp_path: Path) -> None:
    examples = load_examples(write_tiny_data(tmp_path / "data"))
    decided = classifier.train(examples, 0.0, margin=0.0).read("oi, bom dia")
    assert (decided.intent.label, decided.rejected) == ("greet", False)
    gap = decided.intent.confidence - (1 - decided.intent.confidence)  # two classes
    torn = classifier.train(examples, 0.0, margin=gap + 0.01).read("oi, bom dia")
    assert (torn.intent.label, torn.rejected) == ("out_of_scope", True)
    assert torn.intent.confidence == pytest.approx(decided.intent.confidence)
