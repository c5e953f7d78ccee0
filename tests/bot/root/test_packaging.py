"""The built wheel carries every template, catalog and data file the bot needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from bot.root.settings import PACKAGE_ROOT


def test_the_installed_wheel_runs_a_conversation(tmp_path: Path, models_dir: Path) -> None:
    # A copy without build leftovers: setuptools would pack stale files from an old build/.
    source = tmp_path / "source"
    shutil.copytree(
        PACKAGE_ROOT,
        source,
        ignore=lambda folder, names: [
            name
            for name in names
            if name in (".venv", ".git", "build", "__pycache__")
            or (folder == str(PACKAGE_ROOT) and name == "data")
        ],
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), "."],
        cwd=source,
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("onion_rsv360-*.whl")
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    environment = {
        **os.environ,
        "PYTHONPATH": str(installed),
        "RSV_DATA_DIR": str(tmp_path),
        "RSV_MODELS_DIR": str(models_dir),
    }
    finished = subprocess.run(
        [sys.executable, "-c", "import bot; print(bot.__file__)"],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        cwd=tmp_path,
    )
    assert finished.stdout.startswith(str(installed))
    chat = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--locale", "es"],
        input="hola\nxyz\n",
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert "bot> ¡Hola" in chat.stdout
    assert "bot> Eso está fuera de lo que puedo ayudar" in chat.stdout
