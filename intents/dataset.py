"""Training examples: one YAML file per locale under ``intents/data/``, data and not code."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"

LABELS = (
    "greet",
    "goodbye",
    "thanks",
    "help",
    "affirm",
    "deny",
    "book",
    "pay",
    "my_bookings",
    "cancel",
    "refund",
    "faq",
    "human",
    "forecast",
    "out_of_scope",
)
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    locale: str


def data_files(data_dir: Path = DATA_DIR) -> list[Path]:
    return sorted(data_dir.glob("*.yaml"))


def load_examples(data_dir: Path = DATA_DIR) -> list[Example]:
    examples = []
    for path in data_files(data_dir):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        locale = document["locale"]
        for intent, texts in document["intents"].items():
            if intent not in LABELS:
                raise ValueError(f"{path}: unknown intent {intent!r}")
            for text in texts:
                if not isinstance(text, str):
                    # YAML reads a bare yes/no/si/on as a boolean: such lines must be quoted.
                    raise ValueError(f"{path}: {intent}: {text!r} is not text; quote it")
                examples.append(Example(text, intent, locale))
    if not examples:
        raise ValueError(f"no training examples in {data_dir}")
    return examples


def fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
