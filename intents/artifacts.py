"""Trained models on disk: skops files keyed by the training data and the code that uses them.

A model is looked up by a key made of the training data's hash, the hash of the feature and
model code, and the scikit-learn version; a missing or stale one is trained and stored. skops
refuses any type outside the default safe set and our own text function, so a tampered
file cannot run code.

Beside each skops file is the model's serving form (``intents.serving``), which is what a web
worker loads: it needs neither scikit-learn nor skops, so neither is imported unless a model
has to be trained or an older artifact converted.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from intents.dataset import DATA_DIR, data_files, fingerprint, load_examples
from intents.serving import ServingModel, serving_files

if TYPE_CHECKING:
    from intents.classifier import NluModel

log = structlog.get_logger("rsv360.nlu")

TRUSTED = ["intents.text.for_features"]


CODE = ("text.py", "classifier.py", "serving.py")
"""The modules whose code decides what a stored model means (read as files, not imported)."""


def code_version() -> str:
    digest = hashlib.sha256(version("scikit-learn").encode())
    for name in CODE:
        digest.update(Path(__file__).with_name(name).read_bytes())
    return digest.hexdigest()[:16]


def artifact_key(data_dir: Path = DATA_DIR) -> str:
    return hashlib.sha256(
        f"{fingerprint(data_files(data_dir))}:{code_version()}".encode()
    ).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class ModelStore:
    directory: Path

    def model_path(self, key: str) -> Path:
        return self.directory / f"nlu-{key}.skops"

    def metadata_path(self, key: str) -> Path:
        return self.directory / f"nlu-{key}.json"

    def serving_stem(self, key: str) -> Path:
        return self.directory / f"nlu-{key}.serving"

    def load(self, key: str, threshold: float) -> NluModel | None:
        from intents.classifier import NluModel

        path = self.model_path(key)
        if not path.exists():
            return None
        parts = _read(path, path.stat().st_mtime_ns)
        return NluModel(parts["features"], parts["intents"], parts["languages"], threshold)

    def load_serving(self, key: str, threshold: float) -> ServingModel | None:
        stem = self.serving_stem(key)
        if not all(file.exists() for file in serving_files(stem)):
            return None
        return ServingModel.load(stem, threshold)

    def save(self, key: str, model: NluModel, metadata: dict[str, Any]) -> Path:
        import skops.io as skops

        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.model_path(key)
        partial = path.with_suffix(".partial")
        parts = {"features": model.features, "intents": model.intents, "languages": model.languages}
        skops.dump(parts, partial)
        partial.replace(path)  # other workers never see half a file
        ServingModel.from_model(model).save(self.serving_stem(key))
        self.metadata_path(key).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        return path


@cache
def _read(path: Path, modified_ns: int) -> dict[str, Any]:
    """Each file is read once per process (several engines share it: workers, tests)."""
    import skops.io as skops

    untrusted = set(skops.get_untrusted_types(file=path)) - set(TRUSTED)
    if untrusted:
        raise ValueError(f"{path} holds types that are not trusted: {sorted(untrusted)}")
    parts: dict[str, Any] = skops.load(path, trusted=TRUSTED)
    return parts


def load_or_train(
    store: ModelStore, threshold: float, data_dir: Path = DATA_DIR
) -> tuple[NluModel, str]:
    """The model for the current data and code, trained now when none is stored yet."""
    key = artifact_key(data_dir)
    model = store.load(key, threshold)
    if model is not None:
        return model, key
    from intents import classifier

    started = time.perf_counter()
    examples = load_examples(data_dir)
    model = classifier.train(examples, threshold)
    store.save(key, model, training_metadata(key, examples_count=len(examples)))
    log.info(
        "nlu_trained",
        key=key,
        examples=len(examples),
        seconds=round(time.perf_counter() - started, 2),
    )
    return model, key


def training_metadata(key: str, examples_count: int, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "examples": examples_count,
        "code_version": code_version(),
        "sklearn": version("scikit-learn"),
        **extra,
    }


def load_serving_or_train(
    store: ModelStore, threshold: float, data_dir: Path = DATA_DIR
) -> tuple[ServingModel, str]:
    """The serving form of the model for the current data and code. Only when it is missing
    (a model still to train, or stored before the serving form existed) is scikit-learn
    imported, to train or read the skops file and write the serving form beside it."""
    key = artifact_key(data_dir)
    served = store.load_serving(key, threshold)
    if served is not None:
        return served, key
    model, key = load_or_train(store, threshold, data_dir)
    served = ServingModel.from_model(model)
    served.save(store.serving_stem(key))
    return served, key
