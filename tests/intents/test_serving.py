"""The serving form reads every message as the scikit-learn model it was exported from does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from intents.artifacts import ModelStore, artifact_key, load_serving_or_train
from intents.classifier import NluModel
from intents.dataset import load_examples
from intents.serving import ServingModel, serving_files

TOLERANCE = 1e-9


def reference_probabilities(model: NluModel, text: str) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's own pipeline: the feature union's transform, then predict_proba."""
    vector = model.features.transform([text])
    return model.intents.predict_proba(vector)[0], model.languages.predict_proba(vector)[0]


def assert_reads_alike(model: NluModel, served: ServingModel, text: str) -> None:
    intents, languages = reference_probabilities(model, text)
    reading = served.read(text)
    expected = model.read(text)
    assert reading.intent.label == expected.intent.label
    assert reading.language.label == expected.language.label
    assert reading.intent.confidence == pytest.approx(float(intents.max()), abs=TOLERANCE)
    assert reading.language.confidence == pytest.approx(float(languages.max()), abs=TOLERANCE)


@pytest.fixture(scope="module")
def served(intent_model: NluModel) -> ServingModel:
    return ServingModel.from_model(intent_model)


def test_every_training_example_reads_as_in_scikit_learn(
    intent_model: NluModel, served: ServingModel
) -> None:
    for example in load_examples():
        assert_reads_alike(intent_model, served, example.text)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
    | st.lists(
        st.sampled_from(["oi", "quero", "reservar", "um", "quarto", "  ", "çã", "ok!!", "2"]),
        max_size=12,
    ).map(" ".join)
)
def test_any_text_reads_as_in_scikit_learn(
    intent_model: NluModel, served: ServingModel, text: str
) -> None:
    assert_reads_alike(intent_model, served, text)


def test_the_files_give_back_the_same_model(
    intent_model: NluModel, served: ServingModel, tmp_path: Path
) -> None:
    served.save(tmp_path / "model")
    loaded = ServingModel.load(tmp_path / "model", intent_model.threshold)
    for text in ("oi, bom dia", "i want to book a room for 2", "¿cuánto cuesta?", ""):
        assert loaded.read(text) == served.read(text)


def test_settings_it_would_not_repeat_are_refused(intent_model: NluModel) -> None:
    binary = TfidfVectorizer(binary=True).fit(["oi", "ola"])
    changed = NluModel(
        FeatureUnion([("words", binary)]),
        intent_model.intents,
        intent_model.languages,
        intent_model.threshold,
    )
    with pytest.raises(ValueError, match="binary"):
        ServingModel.from_model(changed)


def test_an_older_artifact_gets_its_serving_form(models_dir: Path, intent_model: NluModel) -> None:
    """A model stored without the serving form (before it existed) is converted once."""
    store = ModelStore(models_dir)
    stem = store.serving_stem(artifact_key())
    for file in serving_files(stem):
        file.unlink(missing_ok=True)
    served, _ = load_serving_or_train(store, intent_model.threshold)
    assert all(file.exists() for file in serving_files(stem))
    assert served.read("oi, bom dia") == ServingModel.from_model(intent_model).read("oi, bom dia")


def test_a_stored_model_keeps_its_metadata_and_its_serving_form_apart(
    intent_model: NluModel, tmp_path: Path
) -> None:
    """What ``rsv360 nlu train`` stores, a worker serves: the metadata file is not the serving
    form's settings file."""
    store = ModelStore(tmp_path)
    store.save("k", intent_model, {"key": "k", "examples": 1})
    assert json.loads(store.metadata_path("k").read_text(encoding="utf-8"))["key"] == "k"
    served = store.load_serving("k", intent_model.threshold)
    assert served is not None
    assert served.read("oi, bom dia") == ServingModel.from_model(intent_model).read("oi, bom dia")
