"""The trained NLU model in the form a web worker serves it: arrays and vocabularies, no
scikit-learn.

Importing scikit-learn costs a worker about 90 MB resident (it imports pandas and
``scipy.stats`` whether they are used or not), and reading the skops file leaves another 50 MB
of freed but fragmented heap behind (docs/benchmarks.md, "Memory"). Serving needs neither: a
message's TF-IDF vector has a few dozen non-zero entries, and the linear models are
``softmax(x·Wᵀ + b)``. :meth:`ServingModel.from_model` takes the fitted vocabularies, idf
weights and coefficients from the scikit-learn model once, at training time;
:meth:`ServingModel.read` repeats ``TfidfVectorizer``'s analysers (word n-grams of
``token_pattern`` tokens, ``char_wb`` n-grams), sublinear tf, idf and l2 norm, and gives the
same probabilities as the scikit-learn model (a test holds them equal on every training
example and on generated texts). A model whose feature settings this module does not repeat
is refused at export, never served approximately.

On disk: ``nlu-<key>.serving.json`` (settings, vocabularies, classes) and
``nlu-<key>.serving.npz`` (numeric arrays, read without pickle).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from intents.dataset import OUT_OF_SCOPE, PERSONA
from intents.text import for_features

_WHITE_SPACES = re.compile(r"\s\s+")  # TfidfVectorizer's own, for char_wb


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Reading:
    intent: Prediction
    language: Prediction
    topic: str = ""
    """``persona`` for a question about the assistant itself; empty otherwise."""
    rejected: bool = False
    """The likeliest intent was not trusted (floor or margin): the LLM assist may help."""


MARGIN = 0.1
"""Out of scope when the two likeliest intents are closer than this (docs/nlu.md: the figures)."""


def decide(
    classes: Sequence[str],
    chances: np.ndarray[Any, Any],
    language: Prediction,
    threshold: float,
    margin: float,
) -> Reading:
    """What the intent probabilities mean, the same for the scikit-learn model and the serving
    form: a question about the bot is out of scope with the ``persona`` topic; an intent below
    the ``threshold``, or within ``margin`` of the runner-up, is out of scope and ``rejected``."""
    first, second = np.argsort(chances)[::-1][:2]
    label, confidence = str(classes[first]), float(chances[first])
    if label == PERSONA:
        return Reading(Prediction(OUT_OF_SCOPE, confidence), language, topic=PERSONA)
    untrusted = confidence < threshold or confidence - float(chances[second]) < margin
    if label != OUT_OF_SCOPE and untrusted:
        return Reading(Prediction(OUT_OF_SCOPE, confidence), language, rejected=True)
    return Reading(Prediction(label, confidence), language)


@dataclass(frozen=True, slots=True)
class Block:
    """One vectorizer of the feature union: how it cuts a text, and its terms' weights."""

    analyzer: str  # "word" or "char_wb"
    ngram_range: tuple[int, int]
    token_pattern: str
    vocabulary: dict[str, int]
    idf: np.ndarray[Any, Any]
    offset: int  # where its columns start in the joined feature vector

    def terms(self, text: str) -> list[str]:
        low, high = self.ngram_range
        if self.analyzer == "char_wb":
            return _char_wb_ngrams(text, low, high)
        return _word_ngrams(re.findall(self.token_pattern, text), low, high)

    def weights(self, text: str) -> tuple[list[int], list[float]]:
        """Columns and values of the l2-normed, sublinear TF-IDF row of ``text``."""
        counts = Counter(
            index for index in map(self.vocabulary.get, self.terms(text)) if index is not None
        )
        columns = list(counts)
        values = [(1.0 + math.log(counts[c])) * float(self.idf[c]) for c in columns]
        norm = math.sqrt(sum(value * value for value in values))
        if norm > 0:
            values = [value / norm for value in values]
        return [self.offset + column for column in columns], values


@dataclass(frozen=True, slots=True)
class Linear:
    classes: tuple[str, ...]
    coef: np.ndarray[Any, Any]  # (classes or 1, features)
    intercept: np.ndarray[Any, Any]

    def chances(self, columns: list[int], values: list[float]) -> np.ndarray[Any, Any]:
        scores = self.coef[:, columns] @ np.asarray(values) + self.intercept
        if scores.size == 1:  # two classes: one logit (as classifier.probabilities)
            scores = np.array([-scores[0], scores[0]]) / 2
        exponentials = np.exp(scores - scores.max())
        return np.asarray(exponentials / exponentials.sum())

    def best(self, columns: list[int], values: list[float]) -> Prediction:
        chances = self.chances(columns, values)
        index = int(np.argmax(chances))
        return Prediction(self.classes[index], float(chances[index]))


@dataclass(frozen=True, slots=True)
class ServingModel:
    blocks: tuple[Block, ...]
    intents: Linear
    languages: Linear
    threshold: float
    margin: float = MARGIN
    preprocess: Callable[[str], str] = for_features

    def read(self, text: str) -> Reading:
        """The likeliest intent (out of scope when not trusted: ``decide``) and language."""
        prepared = self.preprocess(text)
        columns: list[int] = []
        values: list[float] = []
        for block in self.blocks:
            block_columns, block_values = block.weights(prepared)
            columns += block_columns
            values += block_values
        chances = self.intents.chances(columns, values)
        language = self.languages.best(columns, values)
        return decide(self.intents.classes, chances, language, self.threshold, self.margin)

    # -- from scikit-learn, to and from disk ----------------------------------------------------

    @classmethod
    def from_model(cls, model: Any) -> ServingModel:
        """From a fitted ``intents.classifier.NluModel``; refuses settings it would not repeat."""
        blocks, offset = [], 0
        for name, vectorizer in model.features.transformer_list:
            _check_supported(name, vectorizer)
            idf = np.asarray(vectorizer.idf_, dtype=np.float64)
            blocks.append(
                Block(
                    vectorizer.analyzer,
                    tuple(vectorizer.ngram_range),
                    vectorizer.token_pattern,
                    {str(term): int(index) for term, index in vectorizer.vocabulary_.items()},
                    idf,
                    offset,
                )
            )
            offset += len(idf)
        return cls(
            tuple(blocks),
            _linear(model.intents),
            _linear(model.languages),
            float(model.threshold),
            float(model.margin),
        )

    def save(self, stem: Path) -> None:
        """``stem``.json and ``stem``.npz, each written whole before it replaces the old one."""
        settings = {
            "blocks": [
                {
                    "analyzer": block.analyzer,
                    "ngram_range": list(block.ngram_range),
                    "token_pattern": block.token_pattern,
                    "vocabulary": block.vocabulary,
                    "offset": block.offset,
                }
                for block in self.blocks
            ],
            "intents": list(self.intents.classes),
            "languages": list(self.languages.classes),
            "margin": self.margin,
        }
        arrays = {f"idf_{number}": block.idf for number, block in enumerate(self.blocks)}
        for name, linear in (("intents", self.intents), ("languages", self.languages)):
            arrays[f"{name}_coef"] = linear.coef
            arrays[f"{name}_intercept"] = linear.intercept
        settings_file, arrays_file = serving_files(stem)
        partial = arrays_file.with_name(f"{arrays_file.name}.partial")
        with partial.open("wb") as file:
            np.savez(file, allow_pickle=False, **arrays)
        partial.replace(arrays_file)
        partial = settings_file.with_name(f"{settings_file.name}.partial")
        partial.write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
        partial.replace(settings_file)

    @classmethod
    def load(cls, stem: Path, threshold: float) -> ServingModel:
        settings_file, arrays_file = serving_files(stem)
        settings = json.loads(settings_file.read_text(encoding="utf-8"))
        with np.load(arrays_file, allow_pickle=False) as arrays:
            blocks = tuple(
                Block(
                    block["analyzer"],
                    (int(block["ngram_range"][0]), int(block["ngram_range"][1])),
                    block["token_pattern"],
                    block["vocabulary"],
                    arrays[f"idf_{number}"],
                    int(block["offset"]),
                )
                for number, block in enumerate(settings["blocks"])
            )
            intents, languages = (
                Linear(tuple(settings[name]), arrays[f"{name}_coef"], arrays[f"{name}_intercept"])
                for name in ("intents", "languages")
            )
        return cls(blocks, intents, languages, threshold, float(settings.get("margin", MARGIN)))


def _linear(classifier: Any) -> Linear:
    return Linear(
        tuple(str(label) for label in classifier.classes_),
        np.ascontiguousarray(classifier.coef_, dtype=np.float64),
        np.asarray(classifier.intercept_, dtype=np.float64),
    )


def _check_supported(name: str, vectorizer: Any) -> None:
    """The TfidfVectorizer settings that :class:`Block` repeats; anything else is refused."""
    expected = {
        "input": "content",
        "preprocessor": for_features,
        "tokenizer": None,
        "stop_words": None,
        "sublinear_tf": True,
        "norm": "l2",
        "use_idf": True,
        "binary": False,
    }
    different = {
        key: getattr(vectorizer, key) for key, value in expected.items()
        if getattr(vectorizer, key) != value
    }  # fmt: skip
    if vectorizer.analyzer not in ("word", "char_wb"):
        different["analyzer"] = vectorizer.analyzer
    if different:
        raise ValueError(f"the serving form does not repeat {name}'s settings {different}")


def _word_ngrams(tokens: Sequence[str], low: int, high: int) -> list[str]:
    """TfidfVectorizer's word n-grams (no stop words)."""
    grams = list(tokens) if low == 1 else []
    for size in range(max(low, 2), min(high, len(tokens)) + 1):
        grams += [" ".join(tokens[start : start + size]) for start in range(len(tokens) - size + 1)]
    return grams


def _char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """TfidfVectorizer's ``char_wb`` n-grams: inside words padded with a space; a word
    shorter than ``n`` counts once."""
    grams = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        padded = f" {word} "
        for size in range(low, high + 1):
            starts = range(max(1, len(padded) - size + 1))
            grams += [padded[start : start + size] for start in starts]
            if len(padded) <= size:
                break
    return grams


def serving_files(stem: Path) -> tuple[Path, Path]:
    """``<stem>.json`` and ``<stem>.npz``, added to the stem's name (``nlu-<key>.serving``): a
    replaced suffix would make the settings file the model's metadata file."""
    return stem.with_name(f"{stem.name}.json"), stem.with_name(f"{stem.name}.npz")
