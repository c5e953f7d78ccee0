"""A web worker that answers forecasts itself computes them in a child process: it never holds
pandas and matplotlib, the child stops once idle, and a child that dies is replaced."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bot.core.types import Message
from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import Settings
from tests.support.clock import NOW
from tests.support.waiting import until

OCCUPANCY = "occupancy forecast for next month at Pousada do Mar"
RISK = "which bookings this week are likely to cancel?"

# A web worker of its own (this test process imported pandas long ago), at the tests' "now".
WEB_WORKER = """
import asyncio, json, sys
import time_machine
from bot.core.types import Message
from bot.root.app import build_runtime, runtime_lifespan
from bot.root.settings import Settings

async def main(data, models, forecasts, question):
    settings = Settings(
        _env_file=None, data_dir=data, models_dir=models, secret_key="test-widget-secret",
        forecast={"models_dir": forecasts},
    )
    async with runtime_lifespan(build_runtime(settings), upkeep=False) as runtime:
        asked = Message("web", "staff", "staff", text=question, locale_hint="en", role="staff")
        result = await runtime.engine.handle(asked)
        loaded = sorted(name for name in ("pandas", "matplotlib") if name in sys.modules)
        print(json.dumps({"reply": result.replies[0].text, "loaded": loaded}))

with time_machine.travel(sys.argv[1], tick=True):
    asyncio.run(main(*sys.argv[2:]))
"""


async def ask(runtime: Runtime, text: str) -> str:
    result = await runtime.engine.handle(
        Message("web", "staff", "staff", text=text, locale_hint="en", role="staff")  # type: ignore[arg-type]
    )
    assert result.status == "handled"
    return result.replies[0].text


def children() -> set[int]:
    return {child.pid for child in multiprocessing.active_children() if child.pid is not None}


async def test_the_web_worker_answers_without_holding_pandas_or_matplotlib(
    make_settings: Callable[..., Settings], tmp_path: Path, models_dir: Path, trained: Path
) -> None:
    async with runtime_lifespan(build_runtime(make_settings()), upkeep=False):
        pass  # the NLU model trained (and stored) first, as before starting workers
    found = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", WEB_WORKER, NOW.isoformat(), str(tmp_path / "web"),
         str(models_dir), str(trained), OCCUPANCY],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    answer = json.loads(found.stdout.splitlines()[-1])
    assert "Occupancy forecast for Pousada do Mar" in answer["reply"]
    assert "Model demand-" in answer["reply"]
    assert answer["loaded"] == []


async def test_the_child_stops_when_idle_and_a_lost_one_is_replaced(
    make_settings: Callable[..., Settings], trained: Path
) -> None:
    settings = make_settings(forecast={"models_dir": trained, "child_idle_seconds": 1.0})
    before = children()
    async with runtime_lifespan(build_runtime(settings), upkeep=False) as runtime:
        assert "Occupancy forecast for Pousada do Mar" in await ask(runtime, OCCUPANCY)
        [child] = children() - before
        await until(lambda: child not in children(), seconds=30)  # idle for a second: stopped

        assert "Model cancellation-" in await ask(runtime, RISK)
        [child] = children() - before
        os.kill(child, signal.SIGKILL)  # out of memory, say
        await until(lambda: child not in children(), seconds=30)
        answer = await ask(runtime, "what price should we charge next week?")
        assert "Suggested nightly rates at Pousada do Mar" in answer
        [replacement] = children() - before
        assert replacement != child
    assert children() == before  # closed with the runtime
