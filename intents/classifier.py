"""The intent and language classifiers: TF-IDF word and character n-grams, linear models.

A message is out of scope when the intent model says so (its ``out_of_scope`` class is trained on
lines from many topics a general assistant gets), when its likeliest intent is below the
confidence floor (``RSV_NLU_THRESHOLD``), or when the runner-up is within ``MARGIN`` of it: a
message torn between two intents is usually about neither. Questions about the assistant itself
are a class of their own (``persona``), read as ``out_of_scope`` with that topic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from threadpoolctl import threadpool_limits

from intents.dataset import OUT_OF_SCOPE, PERSONA, Example
from intents.serving import MARGIN, Prediction, Reading, decide
from intents.text import for_features

__all__ = ["MARGIN", "NluModel", "Prediction", "Reading", "cross_validate", "features", "train"]

TOKENS = r"(?u)\b\w+\b|[^\w\s]"


def features() -> FeatureUnion:
    """Word uni- and bigrams plus character 2-5-grams: robust to typos, slang and accents."""
    return FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    preprocessor=for_features,
                    token_pattern=TOKENS,
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=for_features,
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    sublinear_tf=True,
                    min_df=2,
                ),
            ),
        ]
    )


def intent_classifier() -> LogisticRegression:
    return LogisticRegression(C=10.0, max_iter=5000)


def language_classifier() -> LogisticRegression:
    return LogisticRegression(C=10.0, max_iter=5000)


@dataclass(frozen=True, slots=True)
class NluModel:
    """One feature extraction per message feeds both the intent and the language classifier."""

    features: FeatureUnion
    intents: LogisticRegression
    languages: LogisticRegression
    threshold: float
    margin: float = MARGIN

    def read(self, text: str) -> Reading:
        """The likeliest intent (out of scope when not trusted: module docstring) and language."""
        # One message at a time: scikit-learn's per-call machinery (joblib inside FeatureUnion,
        # input validation) costs more than the arithmetic, so the linear models are applied
        # directly: softmax(x·Wᵀ + b), what predict_proba computes (a test holds them equal).
        vector = sparse.hstack(
            [vectorizer.transform([text]) for _, vectorizer in self.features.transformer_list],
            format="csr",
        )
        chances = probabilities(self.intents, vector)
        language = _best(self.languages, vector)
        return decide(self.intents.classes_, chances, language, self.threshold, self.margin)


def probabilities(classifier: LogisticRegression, vector: Any) -> Any:
    scores = np.asarray(vector @ classifier.coef_.T).ravel() + classifier.intercept_
    if scores.size == 1:  # two classes: one logit
        scores = np.array([-scores[0], scores[0]]) / 2
    exponentials = np.exp(scores - scores.max())
    return exponentials / exponentials.sum()


def _best(classifier: LogisticRegression, vector: Any) -> Prediction:
    chances = probabilities(classifier, vector)
    index = int(np.argmax(chances))
    return Prediction(str(classifier.classes_[index]), float(chances[index]))


def training_label(example: Example) -> str:
    """The class an example trains: its intent, or ``persona`` for questions about the bot."""
    return PERSONA if example.topic == PERSONA else example.intent


def train(examples: Sequence[Example], threshold: float, margin: float = MARGIN) -> NluModel:
    extractor = features()
    matrix = extractor.fit_transform([example.text for example in examples])
    # One OpenMP thread: on a busy two-core machine the solver's threads wait on each other and
    # training took three times as long (docs/nlu.md).
    with threadpool_limits(limits=1):
        intents = intent_classifier().fit(matrix, [training_label(e) for e in examples])
        languages = language_classifier().fit(matrix, [example.locale for example in examples])
    return NluModel(extractor, intents, languages, threshold, margin)


@dataclass(frozen=True, slots=True)
class CrossValidation:
    accuracy: float
    per_locale: dict[str, float]
    folds: int


def cross_validate(
    examples: Sequence[Example],
    threshold: float,
    folds: int = 5,
    progress: Callable[[Iterable[Any]], Iterable[Any]] = lambda steps: steps,
    margin: float = MARGIN,
) -> CrossValidation:
    """Stratified k-fold accuracy of the intent model with its out-of-scope rules."""
    texts = np.array([example.text for example in examples], dtype=object)
    labels = np.array([example.intent for example in examples])
    classes = np.array([training_label(example) for example in examples])
    locales = np.array([example.locale for example in examples])
    predicted = np.empty(len(examples), dtype=object)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=7)
    for train_index, test_index in progress(list(splitter.split(texts, classes))):
        pipeline = Pipeline([("features", features()), ("classifier", intent_classifier())])
        with threadpool_limits(limits=1):
            pipeline.fit(list(texts[train_index]), classes[train_index])
        chances = pipeline.predict_proba(list(texts[test_index]))
        ranked = np.sort(chances, axis=1)
        best, runner_up = ranked[:, -1], ranked[:, -2] if ranked.shape[1] > 1 else 0.0
        chosen = pipeline.classes_[chances.argmax(axis=1)].astype(object)
        chosen[(best < threshold) | (best - runner_up < margin) | (chosen == PERSONA)] = (
            OUT_OF_SCOPE
        )
        predicted[test_index] = chosen
    correct = predicted == labels
    return CrossValidation(
        accuracy=float(correct.mean()),
        per_locale={
            str(locale): float(correct[locales == locale].mean()) for locale in np.unique(locales)
        },
        folds=folds,
    )
