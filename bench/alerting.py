"""Alert latency: forged payment webhooks → Prometheus → Alertmanager → the bot → Slack.

    .venv/bin/python bench/alerting.py [--runs 3]

Runs the scenario of tests/test_alerting_end_to_end.py (tests/support/alerting_stack.py): Debian's
``prometheus`` and ``prometheus-alertmanager`` with the shipped rules and configs under the test
overlay's faster pace, a bot on loopback with an embedded SQLite database, Slack on the local
fake, e-mail on a local aiosmtpd server. Each run starts everything afresh, posts forged Stripe
webhooks ten a second until the alert is in Slack and the mailbox, and waits for the resolve.
Prints, per run, the time from the first forged webhook to the Slack message, and the estimate
at the shipped pace (``production_estimate``); JSON goes to bench/results/alerting.json.
The NLU model is trained once, in the first run, into a temporary directory, before the clock
starts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.core.observability import configure_logging
from tests.support.alerting_stack import (
    OVERLAY,
    alerting_stack,
    forge_until_alerted,
    production_estimate,
    shipped_pace,
    until_resolved,
)

RESULTS = Path(__file__).resolve().parent / "results"


async def one_run(directory: Path, models_dir: Path) -> dict[str, Any]:
    base = {"data_dir": directory / "bot", "models_dir": models_dir, "secret_key": "bench-secret"}
    async with alerting_stack(directory / "stack", base) as stack:
        run = await forge_until_alerted(stack)
        await until_resolved(stack)
        return {
            "latency_seconds": round(run.latency, 2),
            "forged_webhooks": run.forged,
            "slack_messages": len(stack.posted()),
            "slack_updates": len(stack.updated()),
            "emails": len(stack.inbox.messages),
        }


async def main(runs: int) -> None:
    configure_logging("console", "ERROR")  # forged webhooks log a warning each
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        models_dir = Path(scratch) / "models"
        models_dir.mkdir()
        for number in range(runs):
            directory = Path(scratch) / f"run-{number}"
            result = await one_run(directory, models_dir)
            result["production_estimate_seconds"] = production_estimate(result["latency_seconds"])
            print(f"run {number + 1}: {result}", file=sys.stderr)
            results.append(result)
    latencies = [r["latency_seconds"] for r in results]
    median = statistics.median(latencies)
    summary = {
        "overlay": vars(OVERLAY),
        "shipped": vars(shipped_pace()),
        "runs": results,
        "median_latency_seconds": median,
        "production_estimate_seconds": production_estimate(median),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "alerting.json").write_text(json.dumps(summary, indent=2))
    estimate = summary["production_estimate_seconds"]
    print("| pace | first forged webhook → Slack message |")
    print("|---|---|")
    print(
        f"| test overlay (measured, {runs} runs) | median {median:.1f} s "
        f"(min {min(latencies):.1f}, max {max(latencies):.1f}) |"
    )
    print(f"| shipped, typical (computed) | {estimate['typical']:.1f} s |")
    print(f"| shipped, worst case (computed) | {estimate['worst']:.1f} s |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args().runs))
