"""The guest simulation at scale: many simulated guests through every journey of
``tests/support/guest_simulation.py`` against the real app, each phrasing its messages its own
way, and how many reach the end.

    .venv/bin/python bench/guests.py [--guests 12]

The app runs in this process on a loopback port with the embedded defaults (SQLite and the
in-process stores in a scratch directory, the NLU model kept in ``bench/results/models``).
Guest n says the n-th phrasing of each message (round the list), so every phrasing is tried.
Prints (and writes to ``bench/results/guests.json``) the share of guests who reached the end per
journey and language, and each failure: the step, what the guest said and the bot's answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.root.app import create_app
from bot.root.settings import Settings
from tests.support.guest_simulation import LANGUAGES, Guest, Outcome, Step, journeys

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "bench" / "results" / "guests.json"
MODELS = ROOT / "bench" / "results" / "models"


def failure(outcome: Outcome, steps: list[Step], number: int) -> dict[str, Any]:
    step = steps[(outcome.failed_at or 1) - 1]
    return {
        "journey": outcome.journey,
        "language": outcome.language,
        "step": outcome.failed_at,
        "said": step.says[number % len(step.says)] if step.says else None,
        "pressed": step.press,
        "answer": outcome.answer[:300],
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=12, help="guests per journey and language")
    guests = parser.parse_args().guests
    rows, failures = [], []
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            _env_file=None, data_dir=Path(data), models_dir=MODELS, secret_key="bench-guests"
        )
        runner = web.AppRunner(create_app(settings))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        plan = [(lang, name, steps) for lang in LANGUAGES for name, steps in journeys(lang).items()]
        try:
            async with ClientSession() as http:
                for language, name, steps in tqdm(plan, desc="journeys", unit="journey"):
                    reached = 0
                    for number in range(guests):
                        user = f"bench-{language}-{name}-{number}"
                        outcome = await Guest(http, base, user, language, number).walk(name, steps)
                        if outcome.completed:
                            reached += 1
                        else:
                            failures.append(failure(outcome, steps, number))
                    rows.append({"journey": name, "language": language, "reached": reached})
        finally:
            await runner.cleanup()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    report = {"guests_per_journey": guests, "rows": rows, "failures": failures}
    OUTPUT.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("| journey | language | reached the end |\n|---|---|--:|")
    for row in rows:
        print(f"| {row['journey']} | {row['language']} | {row['reached']}/{guests} |")
    for found in failures:
        what = found["said"] or found["pressed"]
        print(f"- {found['journey']} {found['language']} step {found['step']}: {what!r}")
        print(f"  -> {found['answer'][:160]!r}")


if __name__ == "__main__":
    asyncio.run(main())
