"""The built wheel carries every template, catalog and data file the bot needs."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from bot.settings import PACKAGE_ROOT


def test_the_installed_wheel_runs_a_conversation(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), "."],
        cwd=PACKAGE_ROOT,
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("onion_rsv360-*.whl")
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    environment = {**os.environ, "PYTHONPATH": str(installed), "RSV_DATA_DIR": str(tmp_path)}
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
    assert "bot> Lo siento, todavía no puedo ayudarte" in chat.stdout
