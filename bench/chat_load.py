"""The closed-loop load both webhook benchmarks run (``bench/telegram.py``,
``bench/whatsapp.py``): a **burst**, where every chat posts its next message as soon as the
webhook answered the last one, and **paced** loads at fixed rates over all chats, each chat
waiting for its answer. A channel's benchmark says how to post a message, name a chat and count
the answers; the rest is here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from figures import summary
from load import DEFAULT_MODELS_DIR, DEFAULT_REDIS_URL, Server, flush_redis
from tqdm import tqdm

TEXTS = ("oi", "obrigado", "hello", "thanks", "hola", "gracias", "bom dia", "tchau")
TURN_TIMEOUT = 30.0
DRAIN_TIMEOUT = 120.0  # after a burst, how long the backlog may take to be answered


class ChatLoad(ABC):
    def __init__(
        self, waiting: dict[str, asyncio.Future[float]], http: aiohttp.ClientSession, chats: int
    ) -> None:
        self.waiting, self.http, self.chats = waiting, http, chats
        self.update_ids = itertools.count(1)
        self.round = 0

    @abstractmethod
    async def post(self, chat_id: int, text: str) -> bool:
        """One message from a chat to the webhook; True when it was accepted."""

    @abstractmethod
    def chat_id(self, number: int) -> int:
        """The chat of that number in this round (fresh chats per scenario)."""

    @abstractmethod
    def answers(self) -> int:
        """How many answers the provider's fake has received so far."""

    @abstractmethod
    async def wait_for_answers(self, count: int, seconds: float) -> None: ...

    async def burst(self, warmup: float, seconds: float) -> dict[str, Any]:
        """Every chat posts its next update as soon as the webhook answered the last one."""
        self.round += 1
        before = self.answers()
        started = time.monotonic()
        start, end = started + warmup, started + warmup + seconds
        accepted = posted = refused = 0

        async def chat(number: int) -> None:
            nonlocal accepted, posted, refused
            for text in itertools.cycle(TEXTS):
                at = time.monotonic()
                if at >= end:
                    return
                ok = await self.post(self.chat_id(number), text)
                posted += 1
                if at >= start:
                    accepted += ok
                    refused += not ok

        with tqdm(total=self.chats, desc="burst", unit="chat", file=sys.stderr) as bar:

            async def tracked(number: int) -> None:
                await chat(number)
                bar.update()

            await asyncio.gather(*(tracked(number) for number in range(self.chats)))
        # Every accepted update must still be answered: wait for the backlog to drain.
        drain_started = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await self.wait_for_answers(before + posted, DRAIN_TIMEOUT)
        answered = self.answers() - before
        return {
            "updates_per_second": accepted / seconds,
            "refused": refused,
            "posted": posted,
            "answered": answered,
            "drain_seconds": time.monotonic() - drain_started,
            "processed_per_second": answered / (time.monotonic() - started),
        }

    async def paced(self, rate: float, warmup: float, seconds: float) -> dict[str, Any]:
        """``rate`` updates a second over all chats, each chat waiting for its answer."""
        self.round += 1
        started = time.monotonic()
        start, end = started + warmup, started + warmup + seconds
        latencies: list[float] = []
        timeouts = 0
        interval = self.chats / rate

        async def chat(number: int) -> None:
            nonlocal timeouts
            await asyncio.sleep(number / rate)  # spread the chats' first updates
            for text in itertools.cycle(TEXTS):
                sent_at = time.monotonic()
                if sent_at >= end:
                    return
                chat_id = self.chat_id(number)
                future = asyncio.get_running_loop().create_future()
                self.waiting[str(chat_id)] = future
                await self.post(chat_id, text)
                try:
                    arrived = await asyncio.wait_for(future, TURN_TIMEOUT)
                except TimeoutError:
                    timeouts += 1
                    continue
                if sent_at >= start:
                    latencies.append((arrived - sent_at) * 1000)
                await asyncio.sleep(max(0.0, sent_at + interval - time.monotonic()))

        with tqdm(total=self.chats, desc=f"paced {rate:g}/s", unit="chat", file=sys.stderr) as bar:

            async def tracked(number: int) -> None:
                await chat(number)
                bar.update()

            await asyncio.gather(*(tracked(number) for number in range(self.chats)))
        return {
            "updates_per_second": len(latencies) / seconds,
            "timeouts": timeouts,
            "latency": summary(latencies),
        }


@dataclass(frozen=True)
class Scenarios:
    """What a run measures, as the command line asks (``chat_main``)."""

    chats: int
    warmup: float
    seconds: float
    rates: list[float]
    burst_seconds: float
    redis_url: str
    """Flushed before use."""

    async def run(self, load: ChatLoad, backend: str) -> list[dict[str, Any]]:
        """The burst, then each paced rate: the table's rows for one backend."""
        measured = [("burst", await load.burst(1.0, self.burst_seconds))]
        for rate in self.rates:
            measured.append(
                (f"paced {rate:g}/s", await load.paced(rate, self.warmup, self.seconds))
            )
        return [
            {"backend": backend, "chats": self.chats, "load": name, **figures}
            for name, figures in measured
        ]


class ServerBesideFake(Server):
    """``rsv360 serve`` with a channel pointed at its provider's local fake (``fake_url``);
    a channel's benchmark says in ``environment`` how."""

    def __init__(self, fake_url: str, *args: Any) -> None:
        super().__init__(*args)
        self.fake_url = fake_url


@asynccontextmanager
async def bot_beside_fake(
    fake: web.Application, server_type: type[ServerBesideFake], backend: str, scenarios: Scenarios
) -> AsyncIterator[tuple[ServerBesideFake, aiohttp.ClientSession]]:
    """The provider's fake served in this process, the bot on ``backend`` pointed at it, and a
    client with a connection for every chat; Redis flushed before and after."""
    api = TestServer(fake)
    await api.start_server()
    redis_url = scenarios.redis_url if backend == "redis" else None
    if redis_url:
        await flush_redis(redis_url)
    with tempfile.TemporaryDirectory(prefix="rsv-bench-chat-") as scratch:
        fake_url = str(api.make_url("")).rstrip("/")
        server = server_type(fake_url, backend, redis_url, Path(scratch), DEFAULT_MODELS_DIR)
        await server.start()
        try:
            connector = aiohttp.TCPConnector(limit=scenarios.chats)
            async with aiohttp.ClientSession(connector=connector) as http:
                yield server, http
        finally:
            await server.stop()
            await api.close()
            if redis_url:
                await flush_redis(redis_url)


Run = Callable[[str, Scenarios], Coroutine[Any, Any, list[dict[str, Any]]]]


def chat_main(description: str, output: Path, header: str, run: Run) -> None:
    """A webhook benchmark's command line: ``run`` measures one backend's scenarios; each
    backend's table is printed as soon as it is known, and every row so far goes to ``output``
    as JSON."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backends", default="memory,redis")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="flushed before use!")
    parser.add_argument("--chats", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rates", default="50,100,200", help="paced loads, messages/s")
    parser.add_argument("--burst-seconds", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="smoke run: 50 chats, 3 s")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.chats, arguments.seconds, arguments.warmup = 50, 3.0, 1.0
        arguments.burst_seconds = 3.0
    scenarios = Scenarios(
        arguments.chats,
        arguments.warmup,
        arguments.seconds,
        [float(rate) for rate in arguments.rates.split(",") if rate],
        arguments.burst_seconds,
        arguments.redis_url,
    )
    machine = {"cpus": os.cpu_count(), "python": platform.python_version()}
    results: list[dict[str, Any]] = []
    output.parent.mkdir(parents=True, exist_ok=True)
    for backend in arguments.backends.split(","):
        rows = asyncio.run(run(backend, scenarios))
        results.extend(rows)
        print(table(rows, header), flush=True)
        output.write_text(json.dumps({"machine": machine, "results": results}, indent=2))


def table(results: list[dict[str, Any]], header: str) -> str:
    """``header``: the Markdown table's first row (the channel's own words for chats and
    answers); the rows are the same for every channel."""
    lines = [header, "|---|--:|---|--:|--:|--:|"]
    for result in results:
        if result["load"] == "burst":
            latency = (
                f"all answered {result['drain_seconds']:.1f} s after the burst "
                f"({result['processed_per_second']:.0f}/s processed)"
            )
            lost = result["posted"] - result["answered"]  # not answered within DRAIN_TIMEOUT
        else:
            figures = result["latency"]
            latency = " / ".join(
                f"{figures[k]:.1f}" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")
            )
            lost = result["timeouts"]
        lines.append(
            f"| {result['backend']} | {result['chats']} | {result['load']} | "
            f"{result['updates_per_second']:.0f} | {latency} | {lost} |"
        )
    return "\n".join(lines)
