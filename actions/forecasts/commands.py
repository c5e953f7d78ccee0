"""``rsv360 ml``: import history, train, list, promote and roll back forecast models.

Called by ``bot/root/cli.py`` with the database and the registry; prints for a person at a terminal.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from tqdm import tqdm

from actions.forecasts import training
from actions.forecasts.history import load_history
from actions.forecasts.importer import ImportFailed, import_file
from actions.forecasts.registry import MODELS, Registry, RegistryError

__all__ = ["MODELS", "import_history", "list_versions", "promote", "rollback", "train"]
from actions.forecasts.synthetic import ensure_demo_history
from bot.stores.database import Database

SHOWN_ERRORS = 20


async def import_history(database: Database, path: Path, property_name: str | None) -> int:
    try:
        report = await import_file(database, path, property_name)
    except ImportFailed as error:
        print(f"rsv360 ml import: {error}")
        return 2
    print(f"{report.read} rows read, {report.stored} new rows stored, {report.skipped} skipped")
    for line, reason in report.errors[:SHOWN_ERRORS]:
        print(f"  line {line}: {reason}")
    if report.skipped > SHOWN_ERRORS:
        print(f"  … and {report.skipped - SHOWN_ERRORS} more")
    return 0


async def train(
    database: Database, registry: Registry, names: list[str], demo_property: str, today: date
) -> int:
    await ensure_demo_history(database, demo_property, today)
    history = await load_history(database)
    print(f"{len(history)} bookings of {history['property'].nunique()} properties")
    for name in names:
        with tqdm(total=1, desc=f"training {name}", unit="model") as bar:
            version = await asyncio.to_thread(
                training.train_and_store,
                registry,
                name,
                history,
                lambda items: tqdm(list(items), desc="series", unit="series", leave=False),
            )
            bar.update()
        metadata = registry.metadata(version)
        print(f"stored {version}: {summary(metadata)}")
        if registry.promoted(name) is None:
            registry.promote(version)
            print(f"promoted {version} (the first {name} model)")
        else:
            print(f"serve it with `rsv360 ml promote {version}`")
    return 0


def summary(metadata: dict[str, object]) -> str:
    backtest = metadata.get("backtest") or {}
    text = f"{metadata['rows']} rows {metadata['data_from']}…{metadata['data_to']}"
    if isinstance(backtest, dict) and "roc_auc" in backtest:
        text += f", held-out AUC {backtest['roc_auc']:.3f} Brier {backtest['brier']:.3f}"
    elif isinstance(backtest, dict):
        for slug, result in backtest.items():
            mape, coverage = result["mape"], result["coverage_80"]
            text += f", {slug} MAPE h7 {mape['7']:.1%} h14 {mape['14']:.1%} cover {coverage:.0%}"
    return text


def list_versions(registry: Registry) -> int:
    promoted = {name: registry.promoted(name) for name in MODELS}
    versions = registry.versions()
    if not versions:
        print("no forecast models yet: `rsv360 ml train`")
    for metadata in versions:
        mark = "*" if promoted.get(metadata["model"]) == metadata["version"] else " "
        print(f"{mark} {metadata['version']:<32} {metadata['trained_at']}  {summary(metadata)}")
    return 0


def promote(registry: Registry, version: str) -> int:
    try:
        name = registry.promote(version)
    except RegistryError as error:
        print(f"rsv360 ml promote: {error}")
        return 2
    print(f"{name} now serves {version}")
    return 0


def rollback(registry: Registry, name: str | None) -> int:
    candidates = [name] if name else [m for m in MODELS if registry.promoted(m)]
    if len(candidates) != 1:
        print(f"rsv360 ml rollback: name the model ({' or '.join(MODELS)})")
        return 2
    try:
        version = registry.rollback(candidates[0])
    except RegistryError as error:
        print(f"rsv360 ml rollback: {error}")
        return 2
    print(f"{candidates[0]} now serves {version} again")
    return 0
