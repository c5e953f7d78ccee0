"""Start-up time of the commands that need neither the NLU model nor a provider SDK.

    .venv/bin/python bench/startup.py [--runs 7]

Each command runs as its own process (as an operator types it) against a fresh data
directory with an embedded SQLite database; ``telegram set-webhook`` talks to the local Bot
API server of the tests. Prints (and writes to ``bench/results/startup.json``) the fastest, median
and slowest wall time per command, and the median CPU time (user and system), in seconds. On a
shared machine the same run's CPU time varies by half; the fastest run is the command's own
cost with the least interference (as ``timeit`` advises).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp.test_utils import TestServer
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fakes.telegram import TOKEN, FakeTelegram

OUTPUT = Path(__file__).resolve().parent / "results" / "startup.json"
COMMANDS = [
    ["--help"],
    ["db", "upgrade"],
    ["db", "seed"],
    ["payments", "check"],
    ["payments", "reconcile"],
    ["telegram", "set-webhook"],
]


async def timed(command: list[str], environment: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user and system) of one run."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *command,
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"rsv360 {' '.join(command)} failed: {errors.decode()[-400:]}")
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return wall, cpu


async def measure(runs: int) -> dict[str, dict[str, float]]:
    fake = FakeTelegram()
    server = TestServer(fake.app())
    await server.start_server()
    results: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as data:
            environment = {
                **os.environ,
                "RSV_DATA_DIR": data,
                "RSV_TELEGRAM_TOKEN": TOKEN,
                "RSV_TELEGRAM_API_URL": str(server.make_url("")).rstrip("/"),
                "RSV_PUBLIC_URL": "https://bot.example",
            }
            # An installed bot has its bytecode compiled (pip does it); timed without it, each
            # run would compile the bot's modules again and time the compiler.
            for key in ("RSV_DATABASE_URL", "RSV_REDIS_URL", "PYTHONDONTWRITEBYTECODE"):
                environment.pop(key, None)
            await timed(["db", "upgrade"], environment)  # the first run creates the file
            for command in tqdm(COMMANDS, desc="commands", unit="command"):
                walls, cpus = zip(
                    *[await timed(command, environment) for _ in range(runs)], strict=True
                )
                results[" ".join(command)] = {
                    "min_s": round(min(walls), 2),
                    "median_s": round(statistics.median(walls), 2),
                    "max_s": round(max(walls), 2),
                    "median_cpu_s": round(statistics.median(cpus), 2),
                }
    finally:
        await server.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    arguments = parser.parse_args()
    results = json.dumps(asyncio.run(measure(arguments.runs)), indent=2)
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(results + "\n", encoding="utf-8")
    print(results)


if __name__ == "__main__":
    main()
