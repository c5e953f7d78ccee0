"""Scoring the understanding step on a labelled CSV: ``text,locale,intent,entities``."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.locales import negotiate
from bot.core.types import Parse
from intents.dataset import LABELS, OUT_OF_SCOPE

ENTITY_KEYS = ("checkin", "checkout", "nights", "adults", "children", "email", "booking_code")
COLUMNS = ["text", "locale", "intent", "entities"]
CALIBRATION_BINS = 10


class MalformedFile(ValueError):
    """The CSV cannot be evaluated; the message names the line."""


@dataclass(frozen=True, slots=True)
class Case:
    line: int
    text: str
    locale: str
    intent: str
    entities: dict[str, Any]


def read_cases(path: Path) -> list[Case]:
    cases = []
    with path.open(encoding="utf-8", newline="") as source:
        reader = csv.reader(source)
        header = next(reader, None)
        if header != COLUMNS:
            raise MalformedFile(f"{path}:1: the header must be {','.join(COLUMNS)}, not {header}")
        for row in reader:
            line = reader.line_num
            if len(row) != len(COLUMNS):
                raise MalformedFile(f"{path}:{line}: expected 4 columns, found {len(row)}")
            text, locale, intent, raw_entities = row
            if intent not in LABELS:
                raise MalformedFile(f"{path}:{line}: unknown intent {intent!r}")
            try:
                entities = json.loads(raw_entities or "{}")
            except ValueError:
                raise MalformedFile(f"{path}:{line}: entities is not JSON") from None
            if not isinstance(entities, dict) or set(entities) - set(ENTITY_KEYS):
                raise MalformedFile(f"{path}:{line}: entities must be an object of {ENTITY_KEYS}")
            cases.append(Case(line, text, negotiate(locale, "pt_BR"), intent, entities))
    if not cases:
        raise MalformedFile(f"{path}: no cases")
    return cases


@dataclass
class _Tally:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0

    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 1.0

    def recall(self) -> float:
        expected = self.true_positive + self.false_negative
        return self.true_positive / expected if expected else 1.0

    def f1(self) -> float:
        precision, recall = self.precision(), self.recall()
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@dataclass
class Report:
    total: int = 0
    correct: int = 0
    per_locale: dict[str, list[int]] = field(default_factory=dict)
    intents: dict[str, _Tally] = field(default_factory=dict)
    entities: dict[str, _Tally] = field(default_factory=dict)
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: list[dict[str, Any]] = field(default_factory=list)
    in_scope: list[int] = field(default_factory=lambda: [0, 0])
    confidences: list[tuple[float, bool]] = field(default_factory=list)

    def add(self, case: Case, parse: Parse) -> None:
        hit = parse.intent == case.intent
        self.total += 1
        self.correct += hit
        self.confidences.append((parse.confidence, hit))
        if case.intent != OUT_OF_SCOPE:
            self.in_scope[0] += hit
            self.in_scope[1] += 1
        counts = self.per_locale.setdefault(case.locale, [0, 0])
        counts[0] += hit
        counts[1] += 1
        expected, predicted = (
            self._tally(self.intents, case.intent),
            self._tally(self.intents, parse.intent),
        )
        if hit:
            expected.true_positive += 1
        else:
            expected.false_negative += 1
            predicted.false_positive += 1
            self.confusions[(case.intent, parse.intent)] += 1
            self.errors.append(
                {
                    "line": case.line,
                    "text": case.text,
                    "locale": case.locale,
                    "expected": case.intent,
                    "predicted": parse.intent,
                    "confidence": parse.confidence,
                }
            )
        for key in ENTITY_KEYS:
            tally = self._tally(self.entities, key)
            want, got = case.entities.get(key), parse.entities.get(key)
            if want is not None and got == want:
                tally.true_positive += 1
            else:
                tally.false_negative += want is not None
                tally.false_positive += got is not None

    @staticmethod
    def _tally(tallies: dict[str, _Tally], key: str) -> _Tally:
        return tallies.setdefault(key, _Tally())

    def expected_calibration_error(self) -> float:
        """How far the stated confidence is from the observed accuracy: the cases are put in
        ten equal-width confidence bins, and each bin's |accuracy - mean confidence| is weighed
        by its share of the cases."""
        bins: dict[int, list[tuple[float, bool]]] = {}
        for confidence, hit in self.confidences:
            index = min(int(confidence * CALIBRATION_BINS), CALIBRATION_BINS - 1)
            bins.setdefault(index, []).append((confidence, hit))
        total = len(self.confidences)
        return sum(
            len(members)
            / total
            * abs(
                sum(hit for _, hit in members) / len(members)
                - sum(confidence for confidence, _ in members) / len(members)
            )
            for members in bins.values()
        )

    def as_dict(self) -> dict[str, Any]:
        out_of_scope = self.intents.get(OUT_OF_SCOPE, _Tally())
        hits, in_scope_cases = self.in_scope
        return {
            "accuracy": self.correct / self.total,
            "cases": self.total,
            "in_scope_accuracy": hits / in_scope_cases if in_scope_cases else None,
            "in_scope_cases": in_scope_cases,
            "out_of_scope": {
                "precision": out_of_scope.precision(),
                "recall": out_of_scope.recall(),
                "support": out_of_scope.true_positive + out_of_scope.false_negative,
            },
            "expected_calibration_error": self.expected_calibration_error(),
            "per_locale": {
                locale.replace("_", "-"): hits / count
                for locale, (hits, count) in sorted(self.per_locale.items())
            },
            "per_intent": {
                intent: {
                    "precision": tally.precision(),
                    "recall": tally.recall(),
                    "f1": tally.f1(),
                    "support": tally.true_positive + tally.false_negative,
                }
                for intent, tally in sorted(self.intents.items())
            },
            "entities": {
                key: {
                    "precision": tally.precision(),
                    "recall": tally.recall(),
                    "support": tally.true_positive + tally.false_negative,
                }
                for key, tally in self.entities.items()
                if tally.true_positive + tally.false_negative + tally.false_positive
            },
            "confusions": [
                {"expected": expected, "predicted": predicted, "count": count}
                for (expected, predicted), count in self.confusions.most_common(10)
            ],
            "errors": self.errors,
        }


def format_report(report: dict[str, Any]) -> str:
    lines = [f"intent accuracy {report['accuracy']:.1%} on {report['cases']} messages"]
    lines += [f"  {locale:<6} {accuracy:.1%}" for locale, accuracy in report["per_locale"].items()]
    if report["in_scope_accuracy"] is not None:
        lines.append(
            f"in-scope accuracy {report['in_scope_accuracy']:.1%}"
            f" on {report['in_scope_cases']} messages"
        )
    out_of_scope = report["out_of_scope"]
    lines.append(
        f"out of scope: precision {out_of_scope['precision']:.1%},"
        f" recall {out_of_scope['recall']:.1%} ({out_of_scope['support']} expected)"
    )
    lines.append(f"expected calibration error {report['expected_calibration_error']:.3f}")
    lines.append("per intent          precision  recall     f1  support")
    for intent, scores in report["per_intent"].items():
        lines.append(
            f"  {intent:<18} {scores['precision']:>8.1%} {scores['recall']:>7.1%}"
            f" {scores['f1']:>6.1%} {scores['support']:>8}"
        )
    lines.append("entities            precision  recall  support")
    for key, scores in report["entities"].items():
        precision, recall, support = scores["precision"], scores["recall"], scores["support"]
        lines.append(f"  {key:<18} {precision:>8.1%} {recall:>7.1%} {support:>8}")
    if report["confusions"]:
        lines.append("most confused (expected → predicted)")
        lines += [
            f"  {pair['expected']} → {pair['predicted']}: {pair['count']}"
            for pair in report["confusions"]
        ]
    return "\n".join(lines)
