"""Versioned forecast models on disk: a skops file and a metadata JSON per version.

``promoted.json`` keeps, per model, the list of versions promoted in turn; serving uses the
last one, ``rollback`` drops it and the one before serves again. skops loads only scikit-learn
and NumPy types, so a tampered file cannot run code; a version whose feature schema differs
from the code's refuses to load.

Reading which version is promoted needs only JSON; scikit-learn, skops and the models' modules
are imported by what saves or loads a version, so a web worker that is asked no forecast never
loads them (docs/benchmarks.md, "Memory").
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODELS = ("cancellation", "demand")
"""The models' names: ``cancellation.NAME`` and ``demand.NAME`` (a test holds them equal)."""
SAFE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "functools.partial")


class RegistryError(Exception):
    """A version that does not exist, cannot be trusted or does not fit the code."""


class SchemaMismatch(RegistryError):
    pass


def feature_schema(name: str) -> list[str]:
    from actions.forecasts import cancellation, demand
    from actions.forecasts.features import booking_schema

    if name == cancellation.NAME:
        return booking_schema()
    if name == demand.NAME:
        return list(demand.SCHEMA)
    raise KeyError(name)


def code_version() -> str:
    import sklearn

    from actions.forecasts import cancellation, demand

    digest = hashlib.sha256(sklearn.__version__.encode())
    for module in (cancellation, demand):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Registry:
    directory: Path

    def _path(self, version: str, suffix: str) -> Path:
        if not version.replace("-", "").isalnum():
            raise RegistryError(f"not a version: {version!r}")
        return self.directory / f"{version}{suffix}"

    def save(self, name: str, parts: dict[str, Any], metadata: dict[str, Any]) -> str:
        import sklearn
        import skops.io as skops

        self.directory.mkdir(parents=True, exist_ok=True)
        version = f"{name}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"
        while self._path(version, ".json").exists():
            version = f"{version}x"
        partial = self._path(version, ".partial")
        skops.dump(parts, partial)
        partial.replace(self._path(version, ".skops"))
        metadata = {
            "version": version,
            "model": name,
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "feature_schema": feature_schema(name),
            "code_version": code_version(),
            "sklearn": sklearn.__version__,
            **metadata,
        }
        self._path(version, ".json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        return version

    def metadata(self, version: str) -> dict[str, Any]:
        path = self._path(version, ".json")
        if not path.exists():
            raise RegistryError(f"no model version {version}")
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return found

    def versions(self) -> list[dict[str, Any]]:
        if not self.directory.exists():
            return []
        found = [
            json.loads(path.read_text("utf-8"))
            for path in self.directory.glob("*.json")
            if path.name != "promoted.json"
        ]
        return sorted(found, key=lambda meta: (meta["model"], meta["version"]))

    def load(self, version: str) -> tuple[dict[str, Any], dict[str, Any]]:
        import skops.io as skops

        metadata = self.metadata(version)
        expected = feature_schema(metadata["model"])
        if metadata["feature_schema"] != expected:
            missing = sorted(set(expected) - set(metadata["feature_schema"]))
            extra = sorted(set(metadata["feature_schema"]) - set(expected))
            raise SchemaMismatch(
                f"{version} was trained on another feature schema (missing {missing}, "
                f"unknown {extra}): train a new version with `rsv360 ml train`"
            )
        path = self._path(version, ".skops")
        untrusted = skops.get_untrusted_types(file=path)
        unsafe = [kind for kind in untrusted if not kind.startswith(SAFE_PREFIXES)]
        if unsafe:
            raise RegistryError(f"{version} holds types that are not trusted: {unsafe}")
        parts: dict[str, Any] = skops.load(path, trusted=untrusted)
        return parts, metadata

    # -- promotion ----------------------------------------------------------------------------

    def _promotions(self) -> dict[str, list[str]]:
        path = self.directory / "promoted.json"
        if not path.exists():
            return {}
        found: dict[str, list[str]] = json.loads(path.read_text(encoding="utf-8"))
        return found

    def _write_promotions(self, promotions: dict[str, list[str]]) -> None:
        path = self.directory / "promoted.json"
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(promotions, indent=2), encoding="utf-8")
        partial.replace(path)

    def promotions(self, name: str) -> list[str]:
        """The versions of model ``name`` promoted in turn, the serving one last."""
        return list(self._promotions().get(name, []))

    def promoted(self, name: str) -> str | None:
        history = self.promotions(name)
        return history[-1] if history else None

    def promote(self, version: str) -> str:
        """Serve ``version`` (after checking it loads); returns the model's name."""
        self.load(version)
        name = str(self.metadata(version)["model"])
        promotions = self._promotions()
        promotions.setdefault(name, []).append(version)
        self._write_promotions(promotions)
        return name

    def rollback(self, name: str) -> str:
        """Serve the previously promoted version again; returns it."""
        promotions = self._promotions()
        history = promotions.get(name, [])
        if len(history) < 2:
            raise RegistryError(f"{name} has no earlier promoted version to roll back to")
        history.pop()
        self._write_promotions(promotions)
        return history[-1]
