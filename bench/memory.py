"""Resident memory of one ``rsv360 serve`` worker, idle and after warm-up, per configuration.

    .venv/bin/python bench/memory.py                    # both configurations, about 1 minute
    .venv/bin/python bench/memory.py --configurations lean --turns 200

Each configuration starts its own ``rsv360 serve`` (one worker process, loopback, a free port,
SQLite and the in-process stores in a scratch data directory; ``--redis-url`` puts the stores
on Redis), waits for ``/healthz`` and reads the process's memory from ``/proc``:

* ``lean``: the widget, REST and the NLU model; no provider channel, no payment gateway but the
  sandbox, no LLM, and no forecast asked;
* ``full``: everything on. Slack, Stripe and the LLM endpoint are configured against local URLs
  where nothing listens (their clients are built and their SDKs imported; calls fail, which is
  fine for memory). Discord, whose client logs in at start-up and stops the server when it
  cannot, talks to the tests' fake Discord, and Telegram (webhook mode) to the tests' fake Bot
  API (``tests/fakes/``); through Telegram a staff member asks
  the three kinds of forecast (occupancy, cancellations, prices), which loads the forecast
  models, pandas and matplotlib in the server's forecast child process (measured apart, and
  checked gone once idle: ``RSV_FORECAST_CHILD_IDLE_SECONDS`` is 10 here). Forecast models are
  trained on the first run and kept in ``bench/results/models``;
* ``apart``: ``full`` as deployed with job workers apart (needs ``--redis-url``): the web
  worker runs no jobs (``RSV_JOBS_IN_SERVE=false``) and one ``rsv360 worker`` beside it
  answers the forecast questions, so the forecast stack loads there; both are measured.

Warm-up is ``--turns`` REST turns over the load benchmark's small-talk mix. Reported per
configuration, in MB: VmRSS just after start-up, VmRSS after warm-up (the figure the targets
are about), VmHWM (the peak resident size) and the PSS (resident pages divided among the
processes that share them), with the targets' verdict. A Markdown table goes to stdout, JSON to
``bench/results/memory.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from load import TEXTS, free_port, machine, server_command, source_version

from bot.core.locales import SUPPORTED_LOCALES
from bot.core.render import Renderer
from bot.core.types import Outcome
from bot.root.settings import PACKAGE_ROOT

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fakes import discord as fake_discord
from tests.fakes import telegram as fake_telegram

BENCH_DIR = Path(__file__).resolve().parent
OUTPUT = BENCH_DIR / "results" / "memory.json"
MODELS_DIR = BENCH_DIR / "results" / "models"
RATE_LIMITS_FILE = BENCH_DIR / "ratelimits.yaml"
TARGETS_MB = {"lean": 200.0, "full": 350.0, "apart": 350.0}
CHILD_IDLE_SECONDS = 10
EVERYTHING_ON = ("full", "apart")
START_TIMEOUT = 600.0  # a first start trains the NLU model
FORECAST_TIMEOUT = 900.0  # a first forecast trains the forecast models
STAFF_CHAT = 4242
DEMO_PROPERTY = "Pousada do Mar"  # the forecasts' default property
TELEGRAM_SECRET = "bench-telegram-secret"
FORECASTS = (  # one question of each kind, as staff ask them
    "previsão de ocupação de dezembro na Pousada do Mar",
    "quais reservas de dezembro têm risco de cancelamento?",
    "preço sugerido pro feriado",
)


@dataclass(frozen=True, slots=True)
class Memory:
    rss_mb: float
    peak_mb: float
    pss_mb: float | None

    @classmethod
    def of(cls, pid: int) -> Memory:
        fields: dict[str, float] = {}
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    fields[name] = int(value.split()[0]) / 1024
        pss = None
        with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    pss = round(int(line.split()[1]) / 1024, 1)
        return cls(round(fields["VmRSS"], 1), round(fields["VmHWM"], 1), pss)


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def role_of(pid: int) -> str:
    """What a child of the server is, from its command line."""
    command = (
        Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    )
    if "resource_tracker" in command:
        return "multiprocessing's resource tracker"
    if "spawn_main" in command:
        return "the forecast process"
    return command[:60]


def unreachable_url() -> str:
    """A loopback URL where nothing listens (a port just freed)."""
    return f"http://127.0.0.1:{free_port()}"


@dataclass(frozen=True, slots=True)
class Fakes:
    """The tests' fake provider servers (``tests/fakes``), running in this process."""

    discord: str
    telegram: str
    bot_api: fake_telegram.FakeTelegram


def environment(
    configuration: str, port: int, data: Path, redis_url: str | None, fakes: Fakes
) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("RSV_")}
    env.update(
        RSV_HOST="127.0.0.1",
        RSV_PORT=str(port),
        RSV_LOG_FORMAT="json",
        RSV_LOG_LEVEL="WARNING",
        RSV_RATE_LIMITS_FILE=str(RATE_LIMITS_FILE),
        RSV_DATA_DIR=str(data),
        RSV_MODELS_DIR=str(MODELS_DIR),
        RSV_SECRET_KEY=secrets.token_urlsafe(32),
        RSV_API_KEYS="",
        RSV_FORECAST_CHILD_IDLE_SECONDS=str(CHILD_IDLE_SECONDS),
    )
    if redis_url is not None:
        env["RSV_REDIS_URL"] = redis_url
    if configuration == "apart":
        env["RSV_JOBS_IN_SERVE"] = "false"
    if configuration in EVERYTHING_ON:
        nowhere = unreachable_url()
        env.update(
            RSV_PUBLIC_URL="https://bot.example",
            RSV_STAFF_IDS=f"telegram:{STAFF_CHAT}",
            RSV_TELEGRAM_TOKEN=fake_telegram.TOKEN,
            RSV_TELEGRAM_API_URL=fakes.telegram,
            RSV_TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
            RSV_SLACK_BOT_TOKEN="xoxb-bench",
            RSV_SLACK_SIGNING_SECRET="bench-signing-secret",
            RSV_SLACK_API_URL=f"{nowhere}/api/",
            RSV_DISCORD_TOKEN=fake_discord.TOKEN,
            RSV_DISCORD_API_URL=f"{fakes.discord}/api/v10",
            RSV_DISCORD_GATEWAY_URL=f"{fakes.discord}/gateway".replace("http", "ws", 1),
            RSV_STRIPE_API_KEY="sk_test_bench",
            RSV_STRIPE_WEBHOOK_SECRET="whsec_bench",
            RSV_STRIPE_API_BASE=nowhere,
            RSV_LLM_BASE_URL=f"{nowhere}/v1",
        )
    return env


async def wait_healthy(http: aiohttp.ClientSession, base: str, process: Any) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"rsv360 serve exited with {process.returncode}")
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with http.get(f"{base}/healthz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"rsv360 serve not healthy within {START_TIMEOUT:g} s")


async def say(http: aiohttp.ClientSession, base: str, user: str, text: str) -> dict[str, Any]:
    body = {"user_id": user, "text": text, "message_id": secrets.token_hex(8)}
    async with http.post(f"{base}/api/v1/messages", json=body) as response:
        if response.status != 200:
            raise RuntimeError(f"{text!r}: HTTP {response.status}")
        document: dict[str, Any] = await response.json()
        return document


async def warm_up(http: aiohttp.ClientSession, base: str, turns: int) -> None:
    for number in range(turns):
        await say(http, base, f"bench-memory-{number % 10}", TEXTS[number % len(TEXTS)])


def interim_replies(template: str) -> set[str]:
    """What the bot says, in each language, before the answer (models being trained, or the
    question handed to a job worker)."""
    renderer = Renderer(PACKAGE_ROOT / "prompts", PACKAGE_ROOT / "locales", "pt_BR")
    outcome = Outcome(template, {"property": DEMO_PROPERTY})
    return {
        " ".join(renderer.render(outcome, locale, "plain").text.split())
        for locale in SUPPORTED_LOCALES
    }


def answer_text(call: fake_telegram.Call) -> str:
    return " ".join(str(call.params.get("text") or call.params.get("caption") or "").split())


async def ask_forecasts(http: aiohttp.ClientSession, base: str, bot_api: Any) -> list[str]:
    """Each forecast question from a staff chat on Telegram, asked again while the models are
    still being trained (and awaited when a job worker answers it); returns the start of each
    answer."""
    answered = []
    training, handed_over = (
        interim_replies("forecasts/training"),
        interim_replies("forecasts/computing"),
    )
    deadline = time.monotonic() + FORECAST_TIMEOUT
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}

    async def reply_after(seen: int) -> tuple[int, str]:
        async with asyncio.timeout(max(1.0, deadline - time.monotonic())):
            while True:
                for index, call in enumerate(bot_api.calls[seen:], seen):
                    if answer_text(call):  # any method: text, photo
                        return index + 1, answer_text(call)
                await asyncio.sleep(0.2)

    for question in FORECASTS:
        while True:
            update = fake_telegram.text_update(STAFF_CHAT, question)
            seen = len(bot_api.calls)
            async with http.post(f"{base}/telegram/webhook", json=update, headers=headers) as sent:
                if sent.status != 200:
                    raise RuntimeError(f"Telegram webhook answered {sent.status}")
            seen, text = await reply_after(seen)
            if text in handed_over:
                seen, text = await reply_after(seen)
            if text not in training:
                answered.append(text[:60])
                break
            await asyncio.sleep(2)
    return answered


async def measure(configuration: str, turns: int, redis_url: str | None) -> dict[str, Any]:
    bot_api = fake_telegram.FakeTelegram()
    discord = TestServer(fake_discord.FakeDiscord().app())
    telegram = TestServer(bot_api.app())
    await discord.start_server()
    await telegram.start_server()
    fakes = Fakes(
        str(discord.make_url("")).rstrip("/"), str(telegram.make_url("")).rstrip("/"), bot_api
    )
    try:
        return await measure_with(configuration, turns, redis_url, fakes)
    finally:
        await discord.close()
        await telegram.close()


async def measure_with(
    configuration: str, turns: int, redis_url: str | None, fakes: Fakes
) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="rsv360-memory-") as scratch:
        data = Path(scratch) / "data"
        env = environment(configuration, port, data, redis_url, fakes)
        process = await start(server_command(), env, Path(scratch) / "server.err")
        processes = [process]
        try:
            async with aiohttp.ClientSession() as http:
                await wait_healthy(http, base, process)
                if configuration == "apart":  # once the web worker has made the schema
                    worker_command = [*server_command()[:-1], "worker"]
                    processes.append(await start(worker_command, env, Path(scratch) / "worker.err"))
                await asyncio.sleep(1.0)  # background start-up work settles
                idle = Memory.of(process.pid)
                await warm_up(http, base, turns)
                forecasts = (
                    await ask_forecasts(http, base, fakes.bot_api)
                    if configuration in EVERYTHING_ON
                    else []
                )
                await warm_up(http, base, turns // 10)  # the turns after a forecast, too
                await asyncio.sleep(1.0)
                warm = Memory.of(process.pid)
                job_worker = Memory.of(processes[1].pid) if len(processes) > 1 else None
                children = {role_of(child): Memory.of(child) for child in children_of(process.pid)}
                await asyncio.sleep(CHILD_IDLE_SECONDS + 2.0)
                left = [role_of(child) for child in children_of(process.pid)]
                settled = Memory.of(process.pid)
        except Exception:
            for name in ("server.err", "worker.err"):
                with contextlib.suppress(OSError):
                    log((Path(scratch) / name).read_text(errors="replace")[-2000:])
            raise
        finally:
            for running in processes:
                await stop(running)
    return {
        "configuration": configuration,
        "backend": "redis" if redis_url else "memory",
        "turns": turns,
        "forecast_answers": forecasts,
        "idle_rss_mb": idle.rss_mb,
        "warm_rss_mb": warm.rss_mb,
        "peak_rss_mb": warm.peak_mb,
        "warm_pss_mb": warm.pss_mb,
        "job_worker_rss_mb": job_worker.rss_mb if job_worker else None,
        "job_worker_peak_mb": job_worker.peak_mb if job_worker else None,
        "children_mb": {
            role: {"rss": memory.rss_mb, "peak": memory.peak_mb}
            for role, memory in children.items()
        },
        "children_left_once_idle": left,
        "rss_once_idle_mb": settled.rss_mb,
        "target_mb": TARGETS_MB[configuration],
        "met": warm.rss_mb <= TARGETS_MB[configuration],
    }


async def start(command: list[str], env: dict[str, str], errors_to: Path) -> Any:
    with errors_to.open("wb") as errors:
        return await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=errors,
            env=env,
            cwd=errors_to.parent,
        )


async def stop(process: Any) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| configuration | stores | RSS after start-up MB | RSS after warm-up MB | peak (VmHWM) MB "
        "| PSS MB | target | verdict |",
        "|---|---|--:|--:|--:|--:|--:|---|",
    ]
    for row in results:
        lines.append(
            f"| {row['configuration']} | {row['backend']} | {row['idle_rss_mb']:.0f} "
            f"| {row['warm_rss_mb']:.0f} | {row['peak_rss_mb']:.0f} "
            f"| {row['warm_pss_mb'] or 0:.0f} "
            f"| ≤ {row['target_mb']:.0f} | {'met' if row['met'] else 'MISSED'} |"
        )
        for role, memory in row["children_mb"].items():
            lines.append(
                f"| {row['configuration']}: its child, {role} | {row['backend']} | - "
                f"| {memory['rss']:.0f} | {memory['peak']:.0f} | - | - | - |"
            )
        if row["children_mb"]:
            lines.append(
                f"| {row['configuration']}: {CHILD_IDLE_SECONDS} s later | {row['backend']} | - "
                f"| {row['rss_once_idle_mb']:.0f} | - | - | - "
                f"| left: {', '.join(row['children_left_once_idle']) or 'none'} |"
            )
        if row.get("job_worker_rss_mb"):
            lines.append(
                f"| {row['configuration']}: the job worker beside it | {row['backend']} | - "
                f"| {row['job_worker_rss_mb']:.0f} | {row['job_worker_peak_mb']:.0f} | - | - | - |"
            )
    return "\n".join(lines)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--configurations", default="lean,full", help="lean, full and/or apart (needs Redis)"
    )
    parser.add_argument("--turns", type=int, default=300, help="warm-up REST turns")
    parser.add_argument("--redis-url", help="run the stores on this Redis (flushed by nobody)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="JSON results file")
    arguments = parser.parse_args(argv)
    arguments.configurations = [c for c in arguments.configurations.split(",") if c]
    if not arguments.configurations or not set(arguments.configurations) <= set(TARGETS_MB):
        parser.error("--configurations takes lean, full and/or apart")
    if "apart" in arguments.configurations and not arguments.redis_url:
        parser.error("apart runs a job worker beside the web worker: give --redis-url")
    if not 1 <= arguments.turns <= 100_000:
        parser.error("--turns must be in [1, 100000]")
    return arguments


async def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    started = time.perf_counter()
    results = []
    for configuration in arguments.configurations:
        log(f"{configuration}: starting {' '.join(server_command())}")
        result = await measure(configuration, arguments.turns, arguments.redis_url)
        log(f"{configuration}: {result['warm_rss_mb']:.0f} MB after warm-up")
        results.append(result)
    document = {
        "benchmark": "resident memory of one rsv360 serve worker",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "source": source_version(),
        "machine": machine(),
        "results": results,
        "elapsed_seconds": round(time.perf_counter() - started, 1),
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(markdown(results))
    log(f"\nJSON: {arguments.output}")
    return 0 if all(result["met"] for result in results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
