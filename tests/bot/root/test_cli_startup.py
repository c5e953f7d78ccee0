"""Commands that need neither the NLU model nor a provider SDK do not load them.

The start-up time itself is measured by ``bench/startup.py`` (docs/benchmarks.md); this checks
the cause, which does not depend on how busy the machine is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    [["--help"], ["db", "upgrade"], ["payments", "check"], ["payments", "reconcile"]],
    ids=" ".join,
)
def test_light_commands_load_no_model_and_no_provider_sdk(
    arguments: list[str], tmp_path: Path
) -> None:
    assert heavy_modules_loaded(arguments, tmp_path) == []


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    """Parsing a message needs the NLU model, so the probe must report scikit-learn."""
    assert "sklearn" in heavy_modules_loaded(["nlu", "parse", "oi"], tmp_path)
