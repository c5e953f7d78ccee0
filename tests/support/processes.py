"""The bot's own command-line processes, started for a test with the settings it gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path


def bot_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """This environment without any RSV_ setting of the caller's, plus ``settings``."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("RSV_")}
    environment.update({"RSV_LOG_FORMAT": "json", **settings})
    return environment


class BotProcess:
    def __init__(self, arguments: list[str], settings: Mapping[str, str], log: Path) -> None:
        self.log = log
        self._file = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *arguments],
            env=bot_environment(settings),
            stdout=self._file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers too are killed after the test (killpg)
        )

    def wait_for_output(self, text: str, seconds: float = 180.0) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None:
                raise AssertionError(f"exited {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} after {seconds} s:\n{self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self, signum: int = signal.SIGTERM, seconds: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(seconds)
        finally:
            self._file.close()


@contextmanager
def bot_process(
    arguments: list[str], settings: Mapping[str, str], log: Path
) -> Iterator[BotProcess]:
    """The process, killed after the test if the test did not stop it."""
    started = BotProcess(arguments, settings, log)
    try:
        yield started
    finally:
        with suppress(ProcessLookupError):
            os.killpg(started.process.pid, signal.SIGKILL)
        started.process.wait()
        started._file.close()
