"""How well the intent model understands messages unlike its training data.

    .venv/bin/python bench/nlu_quality.py [--folds 6] [--data intents/data]

Trains the model from the training files (timed, as at start-up), then scores it on
- the held-out files of every locale (``tests/data/nlu_heldout_*.csv``): in-scope accuracy and
  out-of-scope precision;
- ``tests/data/nlu_keywords_heldout.csv``: one-word, keyword and cost-phrased guest questions;
- ``tests/data/nlu_out_of_domain_heldout.csv``: requests on topics that no training file covers
  (pets, gardening, games, homework, gadgets, gossip, horoscopes, housing, dating, fashion,
  insurance, careers);
- topics held out in turn: the ``out_of_scope_topics`` of the training files are dealt into
  ``--folds`` groups; for each group a model is trained without those topics and its
  out-of-scope recall measured on their lines, so each figure is for topics it never saw.

None of these files is read by training. Results go to ``bench/results/nlu_quality.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from tqdm import tqdm

from intents import classifier
from intents.dataset import DATA_DIR, OUT_OF_SCOPE, Example, load_examples
from intents.entities import EntityExtractor
from intents.evaluation import Case, Report, read_cases
from intents.understanding import ModelUnderstanding

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = ROOT / "tests" / "data"
OUTPUT = Path(__file__).resolve().parent / "results" / "nlu_quality.json"
REFERENCE_DAY = date(2026, 12, 2)
SUMMARY_KEYS = ("accuracy", "cases", "per_locale", "in_scope_accuracy", "out_of_scope")


async def score(model: classifier.NluModel, cases: list[Case]) -> dict[str, Any]:
    understanding = ModelUnderstanding(model, EntityExtractor(), lambda: REFERENCE_DAY)
    report = Report()
    for case in cases:
        report.add(case, await understanding.parse(case.text, case.locale))
    scored = report.as_dict()
    summary = {key: scored[key] for key in SUMMARY_KEYS}
    summary["expected_calibration_error"] = round(scored["expected_calibration_error"], 4)
    summary["errors"] = [
        f"{error['text']} → {error['predicted']} ({error['confidence']})"
        for error in scored["errors"]
    ]
    return summary


def topics_held_out(examples: list[Example], threshold: float, folds: int) -> dict[str, Any]:
    topics = sorted({example.topic for example in examples if example.topic})
    groups = [topics[index::folds] for index in range(folds)]
    recall: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for group in tqdm(groups, desc="topics held out", unit="fold"):
        training = [example for example in examples if example.topic not in group]
        model = classifier.train(training, threshold)
        for example in examples:
            if example.topic in group:
                counts = recall[example.topic]
                counts[0] += model.read(example.text).intent.label == OUT_OF_SCOPE
                counts[1] += 1
    hits = sum(found for found, _ in recall.values())
    lines = sum(total for _, total in recall.values())
    return {
        "out_of_scope_recall": hits / lines if lines else None,
        "lines": lines,
        "per_topic": {topic: found / total for topic, (found, total) in sorted(recall.items())},
    }


def measure(data: Path, threshold: float, folds: int) -> dict[str, Any]:
    examples = load_examples(data)
    started = time.perf_counter()
    with tqdm(total=1, desc="training", unit="model") as bar:
        model = classifier.train(examples, threshold)
        bar.update()
    seconds = time.perf_counter() - started
    in_domain = [
        case for path in sorted(HELD_OUT.glob("nlu_heldout_*.csv")) for case in read_cases(path)
    ]
    results: dict[str, Any] = {
        "examples": len(examples),
        "training_seconds": round(seconds, 1),
        "held_out": asyncio.run(score(model, in_domain)),
        "keywords": asyncio.run(score(model, read_cases(HELD_OUT / "nlu_keywords_heldout.csv"))),
        "out_of_domain": asyncio.run(
            score(model, read_cases(HELD_OUT / "nlu_out_of_domain_heldout.csv"))
        ),
    }
    if folds > 1 and any(example.topic for example in examples):
        results["topics_held_out"] = topics_held_out(examples, threshold, folds)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=6, help="groups of topics held out in turn")
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="training files")
    parser.add_argument("--threshold", type=float, default=0.3, help="RSV_NLU_THRESHOLD")
    arguments = parser.parse_args()
    results = measure(arguments.data, arguments.threshold, arguments.folds)
    text = json.dumps(results, indent=2, ensure_ascii=False)
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
