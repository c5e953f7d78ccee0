"""How frustrated or angry a guest's message sounds, from 0 to 1, in pt-BR, en and es.

A logistic regression trained with scikit-learn like the intent model, on the frustrated lines
of ``intents/mood/<locale>.yaml`` against every intent training line (the calm class), over
binary features of the folded words, word pairs and two shouting marks (capitals, "!!").
The fitted weights are exported once to ``mood/mood-<key>.json`` in the models directory, and served
from that by plain Python: a worker never imports scikit-learn for it. The figures on
held-out lines are in docs/nlu.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import yaml

from intents.dataset import DATA_DIR, load_examples
from intents.text import for_features

MOOD_DIR = Path(__file__).resolve().parent / "mood"
FRUSTRATED = 0.5
"""From this probability on, a message counts as frustrated."""
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class MoodModel:
    weights: dict[str, float]
    bias: float

    def frustration(self, text: str) -> float:
        score = self.bias + sum(self.weights.get(feature, 0.0) for feature in features(text))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, score))))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"bias": self.bias, "weights": self.weights}), "utf-8")

    @classmethod
    def load(cls, path: Path) -> MoodModel:
        document = json.loads(path.read_text("utf-8"))
        return cls({str(k): float(v) for k, v in document["weights"].items()}, document["bias"])


def features(text: str) -> set[str]:
    """Folded words and word pairs, and whether the text shouts (capitals, "!!")."""
    words = _WORD.findall(for_features(text))
    found = set(words) | {f"{a} {b}" for a, b in pairwise(words)}
    letters = [char for char in text if char.isalpha()]
    if len(letters) >= 4 and sum(char.isupper() for char in letters) / len(letters) > 0.7:
        found.add("<shouting>")
    if "!!" in text or "?!" in text:
        found.add("<exclamations>")
    return found


def frustrated_lines(directory: Path = MOOD_DIR) -> list[str]:
    lines = []
    for path in sorted(directory.glob("*.yaml")):
        lines += [str(line) for line in yaml.safe_load(path.read_text("utf-8"))["frustrated"]]
    return lines


def train(frustrated: Sequence[str], calm: Sequence[str]) -> MoodModel:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = CountVectorizer(analyzer=lambda text: sorted(features(text)), binary=True)
    matrix = vectorizer.fit_transform([*frustrated, *calm])
    labels = [1] * len(frustrated) + [0] * len(calm)
    classifier = LogisticRegression(class_weight="balanced", C=4.0, solver="liblinear")
    classifier.fit(matrix, labels)
    weights = {
        feature: float(weight)
        for feature, weight in zip(
            vectorizer.get_feature_names_out(), classifier.coef_[0], strict=True
        )
        if abs(weight) > 1e-6
    }
    return MoodModel(weights, float(classifier.intercept_[0]))


def load_or_train(models_dir: Path) -> MoodModel:
    """The model for the current lines and code, trained now when none is stored yet."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted([*MOOD_DIR.glob("*.yaml"), *DATA_DIR.glob("*.yaml")]):
        digest.update(path.read_bytes())
    # a directory of its own: the intent model's files are found by pattern in models_dir
    path = models_dir / "mood" / f"mood-{digest.hexdigest()[:20]}.json"
    if path.exists():
        return MoodModel.load(path)
    calm = [example.text for example in load_examples()]
    model = train(frustrated_lines(), calm)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return model
