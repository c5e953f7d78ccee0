"""Time of the whole understanding step (classifier, language, entities) per message.

    .venv/bin/python bench/nlu.py [--messages 3000]

Parses the held-out messages of every locale in turn (they are realistic in length and mix),
after a warm-up, and prints p50, p95 and p99 in milliseconds, with dateparser's cost on the
date spans for comparison (it was measured and left out: docs/nlu.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import date, datetime
from pathlib import Path

import dateparser
from figures import summary
from tqdm import tqdm

from bot.root.settings import Settings
from intents.artifacts import ModelStore, load_serving_or_train
from intents.entities import EntityExtractor
from intents.evaluation import read_cases
from intents.understanding import ModelUnderstanding

HELD_OUT = Path(__file__).resolve().parent.parent / "tests" / "data"
DATE_SPANS = [
    ("amanhã", "pt"), ("sexta que vem", "pt"), ("20 de dezembro", "pt"), ("jan 5th", "en"),
    ("this weekend", "en"), ("next friday", "en"), ("mañana", "es"),
    ("del 20 al 23 de diciembre", "es"), ("daqui a 2 semanas", "pt"), ("mês que vem", "pt"),
]  # fmt: skip


async def measure(messages: int) -> dict[str, object]:
    settings = Settings()
    store = ModelStore(settings.model_directory)
    model, key = load_serving_or_train(store, settings.nlu_threshold)  # what a worker serves
    understanding = ModelUnderstanding(model, EntityExtractor(), lambda: date(2026, 12, 2))
    cases = [
        case for path in sorted(HELD_OUT.glob("nlu_heldout_*.csv")) for case in read_cases(path)
    ]
    for case in cases[:200]:
        await understanding.parse(case.text, case.locale)
    timings = []
    for index in tqdm(range(messages), desc="parse", unit="msg"):
        case = cases[index % len(cases)]
        started = time.perf_counter()
        await understanding.parse(case.text, case.locale)
        timings.append((time.perf_counter() - started) * 1000)
    dateparser_ms = []
    base = datetime(2026, 12, 2)
    for text, language in DATE_SPANS:
        dateparser.parse(text, languages=[language], settings={"RELATIVE_BASE": base})
        started = time.perf_counter()
        found = dateparser.parse(text, languages=[language], settings={"RELATIVE_BASE": base})
        dateparser_ms.append(((time.perf_counter() - started) * 1000, text, found is not None))
    figures = {key_: round(value, 3) for key_, value in summary(timings).items() if value}
    return {
        "model": key,
        "messages": messages,
        **{name: figures[name] for name in ("p50_ms", "p95_ms", "p99_ms", "mean_ms")},
        "dateparser_per_span_ms": {text: round(ms, 3) for ms, text, _ in dateparser_ms},
        "dateparser_no_answer": [text for _, text, understood in dateparser_ms if not understood],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    print(
        json.dumps(asyncio.run(measure(parser.parse_args().messages)), indent=2, ensure_ascii=False)
    )


if __name__ == "__main__":
    main()
