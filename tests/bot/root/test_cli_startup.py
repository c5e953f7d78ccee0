"""Commands that need neither the NLU model nor a provider SDK do not load them, and a served
worker loads a provider's SDK or the forecast stack only when it uses them.

The start-up time and the memory themselves are measured by ``bench/startup.py`` and
``bench/memory.py`` (docs/benchmarks.md); this checks the cause, which does not depend on how
busy the machine is.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.root.heap import YOUNG_GENERATION
from bot.root.settings import Settings
from intents.artifacts import ModelStore, load_serving_or_train
from intents.mood import load_or_train as load_mood_or_train

HEAVY = ("sklearn", "aiogram", "discord", "slack_sdk", "slack_bolt", "openai", "matplotlib")
PROBE = """
import json, sys
from bot.root.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)))
"""


def heavy_modules_loaded(arguments: list[str], data_dir: Path) -> list[str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("RSV_")
    } | {"RSV_DATA_DIR": str(data_dir)}
    finished = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )
    loaded: list[str] = json.loads(finished.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "arguments",
    [
        ["--help"],
        ["db", "upgrade"],
        ["payments", "check"],
        ["payments", "reconcile"],
        ["experiments", "report"],
        ["admin", "list"],
    ],
    ids=" ".join,
)
def test_light_commands_load_no_model_and_no_provider_sdk(
    arguments: list[str], tmp_path: Path
) -> None:
    assert heavy_modules_loaded(arguments, tmp_path) == []


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    """Parsing a message needs the NLU model, so the probe must report scikit-learn."""
    assert "sklearn" in heavy_modules_loaded(["nlu", "parse", "oi"], tmp_path)


PROVIDERS_AND_FORECASTS = (
    "sklearn", "skops", "pandas", "scipy", "aiogram", "discord", "slack_sdk", "slack_bolt",
    "openai", "stripe", "matplotlib",
    "actions.forecasts.answers", "actions.forecasts.questions",
)  # fmt: skip
SERVE_PROBE = """
import gc, json, os, signal, sys, threading, time, urllib.request
from bot.root.cli import main

base = f"http://127.0.0.1:{{os.environ['RSV_PORT']}}"
found = {{}}

def turns_then_stop():
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{{base}}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        for number, text in enumerate({texts!r}):
            body = json.dumps({{"user_id": f"probe-{{number}}", "text": text}}).encode()
            request = urllib.request.Request(
                f"{{base}}/api/v1/messages", body, {{"Content-Type": "application/json"}}
            )
            found.setdefault("replies", []).append(
                len(json.load(urllib.request.urlopen(request, timeout=30))["replies"])
            )
        found["loaded"] = sorted(name for name in {heavy!r} if name in sys.modules)
        gc.collect(0)
        metrics = urllib.request.urlopen(f"{{base}}/metrics", timeout=30).read().decode()
        wanted = ("rsv_gc_frozen_objects ", 'rsv_gc_pause_seconds_count{{generation="0"}}')
        found["gc"] = [line for line in metrics.splitlines() if line.startswith(wanted)]
        found["frozen"] = [gc.get_freeze_count(), gc.get_threshold()[0]]
    finally:
        os.kill(os.getpid(), signal.SIGINT)  # run_app stops gracefully

threading.Thread(target=turns_then_stop, daemon=True).start()
try:
    main(["serve"])
except SystemExit as stopped:
    assert stopped.code == 0, stopped.code
print(json.dumps(found))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def served_and_loaded(
    data_dir: Path, texts: list[str], settings: dict[str, str] | None = None
) -> dict[str, list[int] | list[str]]:
    """A real ``rsv360 serve`` (with ``settings``, RSV_* variables) answers ``texts`` through
    REST, then reports which of ``PROVIDERS_AND_FORECASTS`` it has imported."""
    environment = (
        {key: value for key, value in os.environ.items() if not key.startswith("RSV_")}
        | {"RSV_DATA_DIR": str(data_dir), "RSV_PORT": str(free_port())}
        | {"RSV_LOG_LEVEL": "WARNING", **(settings or {})}
    )
    finished = subprocess.run(
        [sys.executable, "-c", SERVE_PROBE.format(texts=texts, heavy=PROVIDERS_AND_FORECASTS)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=True,
    )
    found: dict[str, list[int] | list[str]] = json.loads(finished.stdout.strip().splitlines()[-1])
    return found


def stored_models(models_dir: Path) -> None:
    """The intent and mood models trained and stored, as a deployment has them (training is
    what imports scikit-learn), whichever tests ran before."""
    load_serving_or_train(ModelStore(models_dir), Settings().nlu_threshold)
    load_mood_or_train(models_dir)


def test_serve_with_providers_off_loads_no_provider_sdk_and_no_forecast_stack(
    tmp_path: Path, models_dir: Path
) -> None:
    """Nor scikit-learn: the stored models' serving forms need only NumPy."""
    stored_models(models_dir)
    found = served_and_loaded(
        tmp_path,
        ["oi", "quero reservar um quarto", "obrigado"],
        {"RSV_MODELS_DIR": str(models_dir)},
    )
    assert len(found["replies"]) == 3
    assert all(int(count) >= 1 for count in found["replies"])
    assert found["loaded"] == []


def test_serve_keeps_its_start_up_out_of_the_garbage_collector_and_times_each_pass(
    tmp_path: Path, models_dir: Path
) -> None:
    """What start-up built is frozen (full passes walked it for 130 to 210 ms under load:
    bot/root/heap.py), the young generation widened, and every pass reaches /metrics."""
    stored_models(models_dir)
    found = served_and_loaded(tmp_path, ["oi"], {"RSV_MODELS_DIR": str(models_dir)})
    frozen, young = (int(value) for value in found["frozen"])
    assert frozen > 50_000
    assert young == YOUNG_GENERATION
    metrics = dict(str(line).rsplit(" ", 1) for line in found["gc"])
    # Frozen once, at start-up: since then some of those objects were freed, none were added.
    assert frozen <= float(metrics["rsv_gc_frozen_objects"]) < frozen * 1.05
    assert float(metrics['rsv_gc_pause_seconds_count{generation="0"}']) >= 1


def test_the_serve_probe_sees_a_configured_channel_s_sdk(tmp_path: Path, models_dir: Path) -> None:
    """With Telegram on (webhook mode: nothing is called at start-up), aiogram is loaded."""
    stored_models(models_dir)
    telegram = {
        "RSV_MODELS_DIR": str(models_dir),
        "RSV_TELEGRAM_TOKEN": "123456:probe-token",
        "RSV_TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}",
        "RSV_PUBLIC_URL": "https://bot.example",
    }
    found = served_and_loaded(tmp_path, ["oi"], telegram)
    assert found["loaded"] == ["aiogram"]
