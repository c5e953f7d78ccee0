"""Start-up time of the commands that need neither the NLU model nor a provider SDK.

    .venv/bin/python bench/startup.py [--runs 7]
    git worktree add /tmp/before <commit>
    .venv/bin/python bench/startup.py --runs 9 --before /tmp/before

Each command runs as its own process (as an operator types it) against a fresh data
directory with an embedded SQLite database; ``telegram set-webhook`` talks to the local Bot
API server of the tests. Prints (and writes to ``bench/results/startup.json``) the fastest, median
and slowest wall time per command, and the median CPU time (user and system), in seconds. On a
shared machine the same run's CPU time varies by half; the fastest run is the command's own
cost with the least interference (as ``timeit`` advises). With ``--before DIR`` (a checkout
of an older commit, run with this environment's packages) each run of the current tree is
followed by one of that checkout, each with its own data directory, so both are timed on the
same machine at the same moments and the medians compare.
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

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "bench" / "results" / "startup.json"
COMMANDS = [
    ["--help"],
    ["db", "upgrade"],
    ["db", "seed"],
    ["payments", "check"],
    ["payments", "reconcile"],
    ["telegram", "set-webhook"],
]


async def timed(command: list[str], environment: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user and system) of one run, in its tree (``python -m`` finds the
    package in the working directory before ``PYTHONPATH``)."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *command,
        env=environment,
        cwd=environment["PYTHONPATH"],
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


async def measure(runs: int, before: Path | None) -> dict[str, dict[str, float]]:
    fake = FakeTelegram()
    server = TestServer(fake.app())
    await server.start_server()
    trees = {"": ROOT, **({"before ": before} if before is not None else {})}
    results: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as data:
            environments = {
                label: environment(tree, Path(data) / f"tree{n}", server)
                for n, (label, tree) in enumerate(trees.items())
            }
            for environ in environments.values():
                await timed(["db", "upgrade"], environ)  # the first run creates the file
            for command in tqdm(COMMANDS, desc="commands", unit="command"):
                timings: dict[str, list[tuple[float, float]]] = {label: [] for label in trees}
                for _ in range(runs):
                    for label, environ in environments.items():
                        timings[label].append(await timed(command, environ))
                for label, runs_of in timings.items():
                    walls, cpus = zip(*runs_of, strict=True)
                    results[label + " ".join(command)] = {
                        "min_s": round(min(walls), 2),
                        "median_s": round(statistics.median(walls), 2),
                        "max_s": round(max(walls), 2),
                        "median_cpu_s": round(statistics.median(cpus), 2),
                    }
    finally:
        await server.close()
    return results


def environment(tree: Path, data: Path, server: TestServer) -> dict[str, str]:
    """The operator's environment for one tree's commands, with a data directory of its own."""
    data.mkdir()
    environ = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "RSV_DATA_DIR": str(data),
        "RSV_TELEGRAM_TOKEN": TOKEN,
        "RSV_TELEGRAM_API_URL": str(server.make_url("")).rstrip("/"),
        "RSV_PUBLIC_URL": "https://bot.example",
    }
    # An installed bot has its bytecode compiled (pip does it); timed without it, each run
    # would compile the bot's modules again and time the compiler.
    for key in ("RSV_DATABASE_URL", "RSV_REDIS_URL", "PYTHONDONTWRITEBYTECODE"):
        environ.pop(key, None)
    return environ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", type=Path, help="a checkout of an older commit to compare")
    arguments = parser.parse_args()
    results = json.dumps(asyncio.run(measure(arguments.runs, arguments.before)), indent=2)
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(results + "\n", encoding="utf-8")
    print(results)


if __name__ == "__main__":
    main()
