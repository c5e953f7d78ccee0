"""Training examples: YAML files under ``intents/data/``, data and not code.

Each file names its ``locale`` and holds ``intents`` (label → lines) and/or
``out_of_scope_topics`` (topic → lines the assistant declines, such as ``cooking`` or
``flights``). Topic lines train as ``out_of_scope``, except ``persona`` (questions about the
assistant itself), which the model keeps apart so that the bot can answer them honestly; the
topics let the evaluation hold whole topics out of training.
"""

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
    "stop_messages",
    "start_messages",
    "my_data",
    "delete_my_data",
    "weather",
    "events",
    "experiment_report",
    "alerts_open",
    "out_of_scope",
)
OUT_OF_SCOPE = "out_of_scope"
PERSONA = "persona"
"""The out-of-scope topic of questions about the assistant ("are you a robot?")."""


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    locale: str
    topic: str = ""
    """For ``out_of_scope`` lines written per topic: the topic; empty otherwise."""


def data_files(data_dir: Path = DATA_DIR) -> list[Path]:
    return sorted(data_dir.glob("*.yaml"))


def load_examples(data_dir: Path = DATA_DIR) -> list[Example]:
    examples = []
    for path in data_files(data_dir):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        locale = document["locale"]
        intents = document.get("intents") or {}
        topics = document.get("out_of_scope_topics") or {}
        if not intents and not topics:
            raise ValueError(f"{path}: neither intents nor out_of_scope_topics")
        for intent, texts in intents.items():
            if intent not in LABELS:
                raise ValueError(f"{path}: unknown intent {intent!r}")
            examples += [Example(text, intent, locale) for text in _texts(path, intent, texts)]
        for topic, texts in topics.items():
            examples += [
                Example(text, OUT_OF_SCOPE, locale, str(topic))
                for text in _texts(path, topic, texts)
            ]
    if not examples:
        raise ValueError(f"no training examples in {data_dir}")
    return examples


def _texts(path: Path, section: str, texts: list[object]) -> list[str]:
    for text in texts:
        if not isinstance(text, str):
            # YAML reads a bare yes/no/si/on as a boolean: such lines must be quoted.
            raise ValueError(f"{path}: {section}: {text!r} is not text; quote it")
    return [str(text) for text in texts]


def fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
