"""How much the machine's second core adds to the bot's own work, with nothing else running.

    RSV_MODELS_DIR=/tmp/bench/models .venv/bin/python bench/two_cores.py    # about 2 minutes
    RSV_MODELS_DIR=/tmp/bench/models .venv/bin/python bench/two_cores.py --rounds 10

``bench/load.py --workers 2`` asks two server processes to answer about twice what one does. On
two cores that can only hold if a core runs as fast with the other core busy as with it idle.
This measures that for the bot's own Python work, with the understanding step as its sample (as
``bench/nlu.py`` runs it, over the held-out messages, each read by the model rather than
remembered): each round parses for a fixed time in one process on CPU 1 with CPU 0 idle, then
in two processes at once, one on each CPU, released together. The figure is the two processes'
parses per second over the one's: the ceiling of the load benchmark's two-worker ratio before
Redis, PostgreSQL and the load generator take their share of the cores. Rounds alternate alone
and together, so that the machine's drift falls on both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from datetime import date
from functools import partial
from pathlib import Path

from bot.root.settings import Settings
from intents.artifacts import ModelStore, load_serving_or_train
from intents.entities import EntityExtractor
from intents.evaluation import read_cases
from intents.understanding import ModelUnderstanding

HELD_OUT = Path(__file__).resolve().parent.parent / "tests" / "data"
TODAY = partial(date, 2026, 12, 2)


async def parse_for(seconds: float) -> tuple[int, float]:
    """Loads the model, says ``ready``, waits for a line on stdin, then parses for ``seconds``:
    the parses and the CPU seconds they took."""
    settings = Settings()
    model, _ = load_serving_or_train(ModelStore(settings.model_directory), settings.nlu_threshold)
    entities = EntityExtractor()
    cases = [
        case for path in sorted(HELD_OUT.glob("nlu_heldout_*.csv")) for case in read_cases(path)
    ]
    understanding = ModelUnderstanding(model, entities, TODAY)
    for case in cases[:300]:
        await understanding.parse(case.text, case.locale)
    print("ready", flush=True)
    sys.stdin.readline()
    parses, cpu = 0, time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if parses % len(cases) == 0:  # forgets the texts it has read: each is read anew
            understanding = ModelUnderstanding(model, entities, TODAY)
        case = cases[parses % len(cases)]
        await understanding.parse(case.text, case.locale)
        parses += 1
    return parses, time.process_time() - cpu


def run_parsers(cpus: list[int], seconds: float) -> list[tuple[int, float]]:
    """One parsing process per CPU, released together once every one has loaded."""
    processes = [
        subprocess.Popen(
            [*("taskset", "-c", str(cpu)), sys.executable, __file__, "--parse", str(seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for cpu in cpus
    ]
    for process in processes:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            sys.exit("a parsing process failed to start")
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = []
    for process in processes:
        output, _ = process.communicate()
        parses, cpu = output.split()
        results.append((int(parses), float(cpu)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=8.0, help="parsing time per run")
    parser.add_argument("--parse", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.parse:
        parses, cpu = asyncio.run(parse_for(arguments.parse))
        print(parses, cpu)
        return
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs two CPUs")
    seconds = arguments.seconds
    alone_sum = together_sum = 0
    print("| round | alone parses/s | µs CPU each | together parses/s | µs CPU each | ratio |")
    print("|--:|--:|--:|--:|--:|--:|")
    for number in range(1, arguments.rounds + 1):
        ((alone, alone_cpu),) = run_parsers([1], seconds)
        both = run_parsers([0, 1], seconds)
        together = sum(parses for parses, _ in both)
        together_cpu = sum(cpu for _, cpu in both)
        alone_sum += alone
        together_sum += together
        print(
            f"| {number} | {alone / seconds:,.0f} | {alone_cpu / alone * 1e6:,.0f} "
            f"| {together / seconds:,.0f} | {together_cpu / together * 1e6:,.0f} "
            f"| {together / alone:.3f} |",
            flush=True,
        )
    print(f"\nall rounds: two processes answered {together_sum / alone_sum:.3f} times what one did")


if __name__ == "__main__":
    main()
