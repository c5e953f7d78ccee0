"""Load benchmark of the conversation engine through REST and WebSocket.

For each backend (in-process stores, Redis) the script starts its own ``rsv360 serve`` (one
worker process, loopback, a free port, JSON logs to a file), waits for ``/healthz`` and runs:

* closed-loop scenarios: N conversations each send a message, wait for its reply and send the
  next one at once (the server's capacity, and the latency of a saturated server);
* paced scenarios: N conversations together offer R messages per second (Poisson think time,
  still one message in flight per conversation), the latency of a server that keeps up.

Each scenario has a warm-up that is left out of the figures and a measured window bounded both
in messages and in seconds.

Reported per scenario: messages per second (replies completed in the window), client-observed
round-trip latency, and server-side per-turn latency read exactly from the server's
``"event": "turn"`` log lines (their ``ms`` field, timed by ``bot.core.observability.Observe``).
CPU use of the server, the load generator, Redis and a local PostgreSQL (``--database-url`` on
this machine) over the window tells who was the bottleneck.

    .venv/bin/python bench/load.py                      # full run, 4 to 6 minutes
    .venv/bin/python bench/load.py --quick              # ~40 s smoke run
    .venv/bin/python bench/load.py --backends redis --channels ws --conversations 1000 \
        --paced-rates ""
    .venv/bin/python bench/load.py --server-cpus 1 --client-cpus 0   # each on its own core

With ``--server-cpus``/``--client-cpus`` the server runs under ``taskset -c`` and the load
generator pins itself (``sched_setaffinity``), so that they do not take each other's core; with
``--redis-cpus`` every thread of a local Redis is pinned too for the run (its affinity is given
back at the end): a Redis that wanders onto the server's core inflates the server's CPU per turn
by 10 to 20%. Besides the per-scenario figures, the server's CPU per turn is given per backend:
its CPU seconds (``/proc/<pid>/stat``, the process's own counters) over every closed-loop window
divided by the turns it logged in them.

A Markdown table goes to stdout, JSON to bench/results/load.json; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import uvloop
from figures import summary
from redis.asyncio import Redis

from bot.core.locales import SUPPORTED_LOCALES
from bot.core.render import Renderer
from bot.core.types import Outcome
from bot.root.settings import PACKAGE_ROOT

BENCH_DIR = Path(__file__).resolve().parent
RATE_LIMITS_FILE = BENCH_DIR / "ratelimits.yaml"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "load.json"
# Trained NLU models, kept between runs (the server trains one at its first start otherwise)
DEFAULT_MODELS_DIR = BENCH_DIR / "results" / "models"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/8"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TURN_TIMEOUT = 30.0  # seconds one message may wait for its reply before it counts as an error
CONNECT_PARALLELISM = 50  # WebSocket handshakes in flight at once while a scenario sets up
START_TIMEOUT = 600.0  # seconds for the server to answer /healthz (a first start trains the NLU)
HELLO_LOCALES = ("pt-BR", "en-US", "es-ES")  # what the widget's hello frames say, per browser
NOISY_CORES = 0.25  # other load on the machine, in cores, above which a figure is suspect
NOISY_MARK = " \\*"  # Markdown for " *"

# A realistic mix of small talk: greetings, thanks, help, goodbyes and odd questions that the bot
# cannot really answer (the NLU files them as FAQ or out of scope), in the three supported
# languages, with and without accents and punctuation. Each should get exactly one reply:
# ``preflight`` checks, and leaves out of the mix any text that does not.
TEXTS: tuple[str, ...] = (
    "oi",
    "Olá, bom dia!",
    "boa noite, tudo bem?",
    "muito obrigado pela ajuda",
    "valeu!",
    "preciso de ajuda",
    "o que você faz?",
    "tchau, até logo",
    "qual é a senha do portão da praia?",
    "hello",
    "good morning!",
    "thank you so much",
    "what can you do?",
    "help",
    "see you, bye",
    "do you sell surfboards near the lighthouse?",
    "hola, buenas tardes",
    "muchas gracias",
    "¿cómo funciona esto?",
    "adiós, hasta luego",
    "¿venden tablas de surf cerca del faro?",
    "menu",
)


# --------------------------------------------------------------------------------------------
# Figures


# --------------------------------------------------------------------------------------------
# CPU accounting (Linux /proc): who used the cores during a measured window


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of the process and of its live children (``serve --workers N``: the
    supervisor's workers do the work)."""
    total = 0.0
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat_path.read_text(encoding="ascii").rsplit(")", 1)[1].split()
            if int(stat_path.parent.name) == pid or int(fields[1]) == pid:  # fields[1]: ppid
                total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def postgres_cpu_seconds() -> float:
    """CPU seconds of this machine's PostgreSQL: its processes, and through their children's
    counters the backends that have exited."""
    total = 0.0
    for stat_path in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            name, _, rest = stat_path.read_text(encoding="ascii").partition(" (")[2].rpartition(")")
            if name == "postgres":
                fields = rest.split()
                total += sum(int(value) for value in fields[11:15]) / CLOCK_TICKS
    return total


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, summed over its cores."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, which is already counted in user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    at: float
    server: float
    client: float
    redis: float | None
    postgres: float | None
    machine_busy: float
    machine_total: float

    @classmethod
    def take(cls, server_pid: int, redis_pid: int | None, postgres: bool) -> CpuSnapshot:
        busy, total = machine_cpu_seconds()
        redis = None
        if redis_pid is not None:
            with contextlib.suppress(OSError):
                redis = process_cpu_seconds(redis_pid)
        return cls(
            at=time.perf_counter(),
            server=process_cpu_seconds(server_pid),
            client=time.process_time(),
            redis=redis,
            postgres=postgres_cpu_seconds() if postgres else None,
            machine_busy=busy,
            machine_total=total,
        )


def cpu_usage(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float | None]:
    """Percent of one core for each process; percent of all cores for the machine."""
    wall = max(after.at - before.at, 1e-9)

    def share(start: float | None, end: float | None) -> float | None:
        if start is None or end is None:
            return None
        return round(100 * (end - start) / wall, 1)

    total = after.machine_total - before.machine_total
    busy = after.machine_busy - before.machine_busy
    ours = sum(
        (end or 0.0) - (start or 0.0)
        for start, end in (
            (before.server, after.server),
            (before.client, after.client),
            (before.redis, after.redis),
            (before.postgres, after.postgres),
        )
    )
    return {
        "server_pct_core": share(before.server, after.server),
        "client_pct_core": share(before.client, after.client),
        "redis_pct_core": share(before.redis, after.redis),
        "postgres_pct_core": share(before.postgres, after.postgres),
        # everything else on the machine (other processes, unattributed kernel time)
        "other_pct_core": round(max(0.0, 100 * (busy - ours) / wall), 1),
        "machine_busy_pct": round(100 * busy / total, 1) if total > 0 else None,
        "server_cpu_s": round(after.server - before.server, 3),
    }


async def wait_for_quiet_machine(max_wait: float, threshold: float = 0.25) -> float:
    """Waits (at most ``max_wait`` s) until the machine uses under ``threshold`` cores;
    returns the cores busy in the last half second, for the record."""
    if max_wait <= 0:
        return float("nan")
    deadline = time.monotonic() + max_wait
    while True:
        busy_before, _ = machine_cpu_seconds()
        await asyncio.sleep(0.5)
        busy_after, _ = machine_cpu_seconds()
        cores = (busy_after - busy_before) / 0.5
        if cores < threshold or time.monotonic() >= deadline:
            return round(cores, 2)


# --------------------------------------------------------------------------------------------
# The server under test


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_command() -> list[str]:
    """``rsv360 serve`` from this interpreter's environment (bot.root.cli has no ``__main__``)."""
    script = Path(sys.executable).with_name("rsv360")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-c", "from bot.root.cli import main; main()", "serve"]


def open_log(path: Path) -> IO[bytes]:
    return path.open("wb")


def read_from(path: Path, offset: int) -> bytes:
    with path.open("rb") as log:
        log.seek(offset)
        return log.read()


def to_epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


@dataclass
class ServerTurns:
    """The server's own account of the turns of one channel, from its log lines."""

    window_ms: list[float] = field(default_factory=list)
    window_statuses: Counter[str] = field(default_factory=Counter)
    window_intents: Counter[str] = field(default_factory=Counter)
    all_lines: int = 0


class Server:
    """One ``rsv360 serve`` process with JSON logs captured to a file."""

    def __init__(
        self,
        backend: str,
        redis_url: str | None,
        workdir: Path,
        models_dir: Path,
        cpus: str | None = None,
        workers: int = 1,
        database_url: str | None = None,
    ) -> None:
        self.backend = backend
        self.workers = workers
        self.database_url = database_url
        self.redis_url = redis_url
        self.models_dir = models_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"server-{backend}.log"
        self.err_path = workdir / f"server-{backend}.err"
        self.workdir = workdir
        self.process: asyncio.subprocess.Process | None = None
        self.command = (["taskset", "-c", cpus] if cpus else []) + server_command()

    def environment(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith("RSV_")}
        env.update(
            RSV_HOST="127.0.0.1",
            RSV_PORT=str(self.port),
            RSV_LOG_FORMAT="json",
            RSV_LOG_LEVEL="INFO",
            RSV_RATE_LIMITS_FILE=str(RATE_LIMITS_FILE),
            RSV_DATA_DIR=str(self.workdir / "data"),
            RSV_MODELS_DIR=str(self.models_dir),
            RSV_WIDGET_SECRET=secrets.token_urlsafe(32),
            RSV_API_KEYS="",
        )
        if self.redis_url is not None:
            env["RSV_REDIS_URL"] = self.redis_url
        if self.workers > 1:
            env["RSV_WORKERS"] = str(self.workers)
        if self.database_url is not None:
            env["RSV_DATABASE_URL"] = self.database_url
        return env

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        if self.database_url is not None:  # PostgreSQL is never migrated implicitly
            upgrade = await asyncio.create_subprocess_exec(
                *server_command()[:-1], "db", "upgrade", env=self.environment(), cwd=self.workdir
            )
            await upgrade.wait()
        stdout, stderr = open_log(self.log_path), open_log(self.err_path)
        try:
            # cwd is a scratch directory: no stray .env or data/ from wherever the bench runs
            self.process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                env=self.environment(),
                cwd=self.workdir,
            )
        finally:
            stdout.close()
            stderr.close()
        deadline = time.monotonic() + START_TIMEOUT
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"server exited: {self.stderr_tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"{self.base}/healthz") as response:
                        if response.status == 200 and self.all_serving():
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server not healthy within {START_TIMEOUT:g} s: {self.stderr_tail()}")

    @property
    def local_postgres(self) -> bool:
        """Whether the database is a PostgreSQL on this machine, whose CPU can be counted."""
        return self.database_url is not None and on_this_machine(self.database_url)

    def all_serving(self) -> bool:
        """Whether every worker listens: connections opened before the last of them listens
        all go to the others (SO_REUSEPORT), and a kept-alive conversation stays where it
        landed. One server is serving once it answers."""
        serving = read_from(self.log_path, 0).count(b'"event": "serving"')
        return self.workers == 1 or serving >= self.workers

    def stderr_tail(self) -> str:
        return read_from(self.err_path, 0).decode(errors="replace")[-2000:]

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # aiohttp's run_app shuts down gracefully
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def turns(self, offset: int, channel: str, start: float, end: float) -> ServerTurns:
        """Turn log lines of ``channel`` written after ``offset``; those that ended between
        ``start`` and ``end`` (epoch seconds) make the window's figures."""
        found = ServerTurns()
        for line in read_from(self.log_path, offset).splitlines():
            if b'"event": "turn"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") != "turn" or entry.get("channel") != channel:
                continue
            found.all_lines += 1
            if start <= to_epoch(entry["timestamp"]) <= end:
                found.window_ms.append(float(entry["ms"]))
                found.window_statuses[str(entry.get("status"))] += 1
                found.window_intents[str(entry.get("intent"))] += 1
        return found

    async def metrics(self, http: aiohttp.ClientSession, channel: str) -> ServerMetrics:
        """From /metrics (of the worker that answers, with several): ``rsv_turn_seconds_count``
        of one channel, and the garbage collector's passes over every generation."""
        async with http.get(f"{self.base}/metrics") as response:
            text = await response.text()
        found = ServerMetrics()
        for line in text.splitlines():
            name, _, value = line.rpartition(" ")
            if name == f'rsv_turn_seconds_count{{channel="{channel}"}}':
                found.turns = float(value)
            elif name.startswith("rsv_gc_pause_seconds_sum"):
                found.gc_seconds += float(value)
            elif name.startswith("rsv_gc_pause_seconds_count"):
                found.gc_passes += float(value)
            elif name.startswith("rsv_gc_pause_seconds_bucket") and 'le="0.05"' in name:
                found.gc_passes_to_50ms += float(value)
        return found


@dataclass
class ServerMetrics:
    turns: float = 0.0
    gc_seconds: float = 0.0
    gc_passes: float = 0.0
    gc_passes_to_50ms: float = 0.0

    def since(self, before: ServerMetrics) -> dict[str, Any]:
        passes = self.gc_passes - before.gc_passes
        return {
            "seconds": round(self.gc_seconds - before.gc_seconds, 3),
            "passes": int(passes),
            "passes_over_50ms": int(passes - (self.gc_passes_to_50ms - before.gc_passes_to_50ms)),
        }


async def redis_pid(redis_url: str) -> int | None:
    client = Redis.from_url(redis_url)
    try:
        info = await client.info("server")
        return int(info["process_id"])
    finally:
        await client.aclose()


@contextlib.contextmanager
def pinned_threads(pid: int | None, cpus: str | None) -> Iterator[None]:
    """Every thread of process ``pid`` on ``cpus`` while the block runs, as before after it."""
    if pid is None or not cpus:
        yield
        return
    threads = [int(name) for name in os.listdir(f"/proc/{pid}/task")]
    before = {thread: os.sched_getaffinity(thread) for thread in threads}
    for thread in threads:
        os.sched_setaffinity(thread, cpu_list(cpus))
    try:
        yield
    finally:
        for thread, affinity in before.items():
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(thread, affinity)


async def flush_redis(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def preflight(server: Server, texts: Sequence[str]) -> list[str]:
    """The texts of the mix that get exactly one reply (a WebSocket turn ends with its message
    frame, so a text answered twice would blur turns); the others are left out, with a warning.

    Also checks that the WebSocket answers typing, then message."""
    usable: list[str] = []
    async with aiohttp.ClientSession() as http:
        for text in texts:
            body = {"user_id": f"bench-preflight-{secrets.token_hex(4)}", "text": text}
            async with http.post(f"{server.base}/api/v1/messages", json=body) as response:
                document = await response.json()
            replies = len(document.get("replies", []))
            if response.status == 200 and replies == 1:
                usable.append(text)
            else:
                log(f"  left out of the mix: {text!r} ({response.status}, {replies} replies)")
        if len(usable) < len(texts) // 2:
            raise RuntimeError(f"only {len(usable)} of {len(texts)} texts get exactly one reply")
        async with http.ws_connect(f"{server.base}/ws") as ws:
            await ws.send_json({"type": "hello", "locale": "pt-BR"})
            if (await ws.receive_json(timeout=10)).get("type") != "session":
                raise RuntimeError("WebSocket hello did not open a session")
            await ws.send_json({"type": "message", "text": usable[0], "id": "preflight"})
            frames = [await ws.receive_json(timeout=10) for _ in range(2)]
            if [frame.get("type") for frame in frames] != ["typing", "message"]:
                raise RuntimeError(f"WebSocket {usable[0]!r}: {frames}")
    return usable


# --------------------------------------------------------------------------------------------
# The load generator


def apology_texts() -> frozenset[str]:
    """The replies of a failed or refused turn: a WebSocket client sees them as ordinary message
    frames, so they are told apart by their text (in every locale)."""
    renderer = Renderer(PACKAGE_ROOT / "prompts", PACKAGE_ROOT / "locales", "pt_BR")
    return frozenset(
        renderer.render(Outcome(template), locale, markup).text
        for template in ("engine/error", "engine/busy")
        for locale in SUPPORTED_LOCALES
        for markup in ("html", "plain")
    )


APOLOGIES = apology_texts()


class Window:
    """Phases of one scenario: warm-up, then a measured window bounded in messages and time."""

    def __init__(self, warmup: float, seconds: float, max_messages: int, max_sent: int) -> None:
        now = time.perf_counter()
        self.started = now
        self.measure_at = now + warmup
        self.deadline = self.measure_at + seconds
        self.max_messages = max_messages
        self.max_sent = max_sent  # hard bound on every message sent, warm-up included
        self.sent = 0
        self.latencies_ms: list[float] = []
        self.errors = 0
        self.error_kinds: Counter[str] = Counter()
        self.ended_at: float | None = None
        self.aborted = False
        self.extra_replies = 0
        self.stopped = asyncio.Event()
        self.on_measure: Callable[[], object] | None = None
        self.on_end: Callable[[], object] | None = None

    def may_send(self) -> bool:
        if self.stopped.is_set():
            return False
        if self.sent >= self.max_sent:
            self.finish(time.perf_counter())
            return False
        self.sent += 1
        return True

    def record(self, sent_at: float, done_at: float, error: str | None) -> None:
        """A turn counts when it ends inside the measured window."""
        if done_at < self.measure_at or self.stopped.is_set():
            return
        if done_at >= self.deadline:
            self.finish(self.deadline)
            return
        if error is None:
            self.latencies_ms.append((done_at - sent_at) * 1000)
            if len(self.latencies_ms) >= self.max_messages:
                self.finish(done_at)
        else:
            self.errors += 1
            self.error_kinds[error] += 1
            if self.errors >= 2000 and self.errors > 20 * len(self.latencies_ms):
                self.aborted = True  # the server is failing: no point in measuring on
                self.finish(done_at)

    def finish(self, at: float) -> None:
        if self.stopped.is_set():
            return
        self.ended_at = at
        if self.on_end is not None:
            self.on_end()
        self.stopped.set()

    async def clock(self) -> None:
        """Marks the start of the window, and ends it at the deadline if messages did not."""
        await asyncio.sleep(max(0.0, self.measure_at - time.perf_counter()))
        if self.on_measure is not None:
            self.on_measure()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self.stopped.wait(), max(0.0, self.deadline - time.perf_counter())
            )
        self.finish(min(time.perf_counter(), self.deadline))


class Pacer:
    """When one conversation sends its next message.

    Closed loop (``rate`` None): right after the previous reply. Paced: at Poisson arrivals of
    ``rate`` per second, but never while the previous message is unanswered (a late reply pushes
    the schedule back instead of causing a burst)."""

    def __init__(self, rate: float | None, seed: int) -> None:
        self._rate = rate
        self._random = random.Random(seed)
        self._next = time.perf_counter()
        if rate is not None:
            self._next += self._random.uniform(0, 1 / rate)  # conversations start spread out

    async def ready(self, window: Window) -> bool:
        """False once the scenario is over."""
        if self._rate is not None:
            delay = self._next - time.perf_counter()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(window.stopped.wait(), delay)
            self._next = max(self._next, time.perf_counter()) + self._random.expovariate(self._rate)
        return window.may_send()


def texts_for(mix: Sequence[str], worker: int) -> list[str]:
    """The mix as JSON strings, shuffled per worker, so concurrent workers send different texts."""
    texts = [json.dumps(text, ensure_ascii=False) for text in mix]
    random.Random(worker).shuffle(texts)
    return texts


def framed(received: bytes | bytearray) -> tuple[bytes, int, int] | None:
    """The HTTP/1.1 message at the start of ``received``: its head, lower-cased, and where its
    body starts and ends (by ``Content-Length``); None while the head is still arriving. A head
    without a length raises ValueError."""
    head_end = received.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(received[:head_end]).lower()
    _, found, rest = head.partition(b"\r\ncontent-length:")
    if not found:
        raise ValueError("no Content-Length")
    start = head_end + 4
    return head, start, start + int(rest.split(b"\r\n", 1)[0])


class ResponseReader(asyncio.Protocol):
    """One HTTP/1.1 connection, read on the transport's own callbacks: each request's response
    is complete when its ``Content-Length`` has arrived."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._received = bytearray()
        self._response: asyncio.Future[tuple[int, bytes]] | None = None

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        """The response to ``request``: its status and body."""
        assert self.transport is not None, "not connected"
        assert self._response is None, "one request at a time"
        self._response = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self._response

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._received += data
        try:
            message = framed(self._received)
            if message is None:
                return
            head, start, end = message
            status = int(head[9:12])
        except ValueError:
            self._end(ValueError("a response without a status or Content-Length"))
            return
        if len(self._received) >= end:
            self._end((status, bytes(self._received[start:end])))
            del self._received[:end]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._end(exc or ConnectionResetError("the server closed the connection"))

    def time_out(self) -> None:
        self._end(TimeoutError("no response in time"))

    def _end(self, outcome: tuple[int, bytes] | Exception) -> None:
        response, self._response = self._response, None
        if response is None or response.done():
            return
        if isinstance(outcome, Exception):
            response.set_exception(outcome)
        else:
            response.set_result(outcome)


class KeptAlive:
    """A conversation's own HTTP/1.1 connection, kept alive as an app's would be. The load
    generator shares the servers' cores, so it costs as little per turn as it can: a protocol's
    callbacks instead of asyncio's streams, which were already about half of aiohttp's client
    (docs/benchmarks.md, "The load generator on a protocol's callbacks")."""

    def __init__(self, port: int, path: str) -> None:
        self._port = port
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self._connection: ResponseReader | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        try:
            connection = self._connection
            if connection is None or connection.transport is None:  # the server closed it
                _, opened = await asyncio.wait_for(
                    asyncio.get_running_loop().create_connection(
                        ResponseReader, "127.0.0.1", self._port
                    ),
                    TURN_TIMEOUT,
                )
                self._connection = connection = opened
            response = connection.send(b"%s%d\r\n\r\n%s" % (self._head, len(body), body))
            # a bare timer: asyncio.timeout() costs a turn more (it wraps the task's cancelling)
            overdue = asyncio.get_running_loop().call_later(TURN_TIMEOUT, connection.time_out)
            try:
                return await response
            finally:
                overdue.cancel()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._connection is not None and self._connection.transport is not None:
            self._connection.transport.close()
        self._connection = None


async def rest_worker(
    port: int,
    path: str,
    worker: int,
    user_id: str,
    mix: Sequence[str],
    ids: str | None,
    pacer: Pacer,
    window: Window,
) -> None:
    """A turn: POST /api/v1/messages -> the whole response body read."""
    texts = texts_for(mix, worker)
    head = f'{{"user_id":"{user_id}","text":'
    connection = KeptAlive(port, path)
    number = 0
    try:
        while await pacer.ready(window):
            text = texts[number % len(texts)]
            message_id = f',"message_id":"{ids}-{worker}-{number}"' if ids else ""
            body = f"{head}{text}{message_id}}}".encode()
            number += 1
            error: str | None = None
            sent_at = time.perf_counter()
            try:
                status, raw = await connection.post(body)
                if status != 200:
                    error = f"http_{status}"
                elif b'"replies": [{' not in raw:
                    error = "no_reply"
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as failure:
                error = type(failure).__name__
            window.record(sent_at, time.perf_counter(), error)
            if error is not None:
                await asyncio.sleep(0.01)  # a failing server is not hammered in a tight loop
    finally:
        connection.close()


async def open_conversation(
    http: aiohttp.ClientSession, url: str, worker: int, gate: asyncio.Semaphore
) -> aiohttp.ClientWebSocketResponse:
    """A widget's connection: hello with the browser's locale, answered by a session frame."""
    async with gate:
        ws = await http.ws_connect(url, autoping=True, max_msg_size=1024 * 1024)
        locale = HELLO_LOCALES[worker % len(HELLO_LOCALES)]
        await ws.send_str(f'{{"type":"hello","locale":"{locale}"}}')
        frame = await ws.receive_json(timeout=TURN_TIMEOUT)
        if frame.get("type") != "session":
            raise RuntimeError(f"hello answered with {frame}")
        return ws


async def ws_worker(
    ws: aiohttp.ClientWebSocketResponse,
    worker: int,
    mix: Sequence[str],
    ids: str | None,
    pacer: Pacer,
    window: Window,
) -> None:
    """A turn: message frame sent -> the reply's ``message`` frame received (after ``typing``).

    Every text of the mix has exactly one reply (checked by ``preflight``), so its message frame
    ends the turn; a message frame before the turn's typing frame is a late extra reply of an
    earlier turn, and is skipped."""
    texts = texts_for(mix, worker)
    number = 0
    while await pacer.ready(window):
        text = texts[number % len(texts)]
        message_id = f',"id":"{ids}-{worker}-{number}"' if ids else ""
        frame = f'{{"type":"message","text":{text}{message_id}}}'
        number += 1
        error: str | None = None
        sent_at = time.perf_counter()
        typing = False
        try:
            await ws.send_str(frame)
            while True:
                received = await ws.receive(timeout=TURN_TIMEOUT)
                if received.type != aiohttp.WSMsgType.TEXT:
                    error = f"ws_{received.type.name.lower()}"
                    break
                document = json.loads(received.data)
                kind = document.get("type")
                if kind == "typing":
                    typing = True
                elif kind == "message" and typing:
                    if document.get("text") in APOLOGIES:
                        error = "apology"
                    break
                elif kind == "message":
                    window.extra_replies += 1
                else:
                    error = f"frame_{kind}"
                    break
        except (aiohttp.ClientError, OSError, TimeoutError, ConnectionError) as failure:
            error = type(failure).__name__
        window.record(sent_at, time.perf_counter(), error)
        if error is not None and ws.closed:
            return


@dataclass(frozen=True, slots=True)
class Scenario:
    backend: str
    channel: str  # "rest" or "ws"
    conversations: int
    rate: float | None = None  # offered messages per second in all; None: closed loop

    @property
    def server_channel(self) -> str:
        return "rest" if self.channel == "rest" else "web"

    @property
    def load(self) -> str:
        return "closed" if self.rate is None else f"paced {self.rate:g}/s"

    @property
    def label(self) -> str:
        return f"{self.backend:<6} {self.channel:<4} x{self.conversations:<5} {self.load}"


@dataclass(frozen=True, slots=True)
class Limits:
    warmup: float
    seconds: float
    paced_seconds: float
    max_messages: int
    ids: bool


async def ticker(label: str, window: Window) -> None:
    """A live progress line on a terminal."""
    if not sys.stderr.isatty():
        return
    while not window.stopped.is_set():
        await asyncio.sleep(1.0)
        now = time.perf_counter()
        phase = "warm-up" if now < window.measure_at else "measuring"
        print(
            f"\r  {label}: {phase} {now - window.started:5.1f} s, "
            f"{len(window.latencies_ms):,} measured messages   ",
            end="",
            file=sys.stderr,
            flush=True,
        )
    print("\r" + " " * 90 + "\r", end="", file=sys.stderr, flush=True)


async def run_scenario(
    server: Server,
    scenario: Scenario,
    mix: Sequence[str],
    limits: Limits,
    redis: int | None,
    run_id: str,
) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=TURN_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        metrics_before = await server.metrics(http, scenario.server_channel)
        log_offset = server.log_size()
        sockets: list[aiohttp.ClientWebSocketResponse] = []
        setup_started = time.perf_counter()
        if scenario.channel == "ws":
            gate = asyncio.Semaphore(CONNECT_PARALLELISM)
            sockets = list(
                await asyncio.gather(
                    *(
                        open_conversation(http, f"{server.base}/ws", n, gate)
                        for n in range(scenario.conversations)
                    )
                )
            )
        setup_seconds = time.perf_counter() - setup_started

        window = Window(
            limits.warmup,
            limits.seconds if scenario.rate is None else limits.paced_seconds,
            limits.max_messages,
            max_sent=3 * limits.max_messages + 10 * scenario.conversations,
        )
        wall_offset = time.time() - time.perf_counter()
        snapshots: dict[str, CpuSnapshot] = {}
        postgres = server.local_postgres

        def snapshot(name: str) -> None:
            snapshots.setdefault(name, CpuSnapshot.take(server.pid, redis, postgres))

        window.on_measure = lambda: snapshot("start")
        window.on_end = lambda: snapshot("end")

        rate = None if scenario.rate is None else scenario.rate / scenario.conversations
        # user ids and message ids never repeat, even when a scenario is run again
        tag = f"{run_id}-{secrets.token_hex(3)}"
        ids = tag if limits.ids else None
        workers: list[Awaitable[None]]
        if scenario.channel == "rest":
            workers = [
                rest_worker(
                    server.port, "/api/v1/messages", n, f"bench-{tag}-{n}", mix, ids,
                    Pacer(rate, n), window,
                )
                for n in range(scenario.conversations)
            ]  # fmt: skip
        else:
            workers = [
                ws_worker(ws, n, mix, ids, Pacer(rate, n), window) for n, ws in enumerate(sockets)
            ]
        tasks = [asyncio.ensure_future(worker) for worker in workers]
        clock = asyncio.ensure_future(window.clock())
        progress = asyncio.ensure_future(ticker(scenario.label, window))
        await window.stopped.wait()
        # Workers finish the message in flight (bounded by TURN_TIMEOUT), then stop.
        _, pending = await asyncio.wait(tasks, timeout=TURN_TIMEOUT + 5)
        for task in pending:
            task.cancel()
        await asyncio.gather(clock, progress, *tasks, return_exceptions=True)
        await asyncio.gather(
            *(asyncio.wait_for(ws.close(), 5) for ws in sockets), return_exceptions=True
        )
        await asyncio.sleep(0.3)  # the server's last log lines
        metrics_after = await server.metrics(http, scenario.server_channel)

    assert window.ended_at is not None
    duration = window.ended_at - window.measure_at
    start_epoch = window.measure_at + wall_offset
    end_epoch = window.ended_at + wall_offset
    turns = server.turns(log_offset, scenario.server_channel, start_epoch, end_epoch)
    cpu = (
        cpu_usage(snapshots["start"], snapshots["end"])
        if "start" in snapshots and "end" in snapshots
        else {}
    )
    messages = len(window.latencies_ms)
    server_cpu = cpu.get("server_cpu_s")
    handled = turns.window_statuses.get("handled", 0)
    return {
        "backend": scenario.backend,
        "channel": scenario.channel,
        "conversations": scenario.conversations,
        "load": scenario.load,
        "offered_per_second": scenario.rate,
        "messages": messages,
        "errors": window.errors,
        "error_kinds": dict(window.error_kinds),
        "aborted_as_failing": window.aborted,
        "extra_replies_skipped": window.extra_replies,
        "seconds": round(duration, 3),
        "messages_per_second": round(messages / duration, 1) if duration > 0 else None,
        "setup_seconds": round(setup_seconds, 2),
        "warmup_seconds": limits.warmup,
        "client_latency": summary(window.latencies_ms),
        "server_latency": summary(turns.window_ms),
        "server_turns": len(turns.window_ms),
        "server_not_handled": len(turns.window_ms) - handled,
        "server_statuses": dict(turns.window_statuses),
        "server_intents": dict(turns.window_intents.most_common()),
        "server_log_lines": turns.all_lines,
        "server_histogram_count": metrics_after.turns - metrics_before.turns,
        "server_gc": metrics_after.since(metrics_before),
        "cpu": cpu,
        "server_cpu_us_per_turn": (
            round(1e6 * server_cpu / len(turns.window_ms), 1)
            if server_cpu is not None and turns.window_ms
            else None
        ),
    }


# --------------------------------------------------------------------------------------------
# Reporting


def fmt(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def triple(latency: dict[str, Any]) -> str:
    return " / ".join(fmt(latency.get(key), 2) for key in ("p50_ms", "p95_ms", "p99_ms"))


def markdown_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| backend | channel | conv. | load | messages | msg/s | client p50 / p95 / p99 ms "
        "| server p50 / p95 / p99 ms | errors | server CPU ms/turn "
        "| CPU % server / client / redis / postgres / other |",
        "|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for result in results:
        mark = NOISY_MARK if result.get("noisy") else ""
        per_turn = result["server_cpu_us_per_turn"]
        per_turn = None if per_turn is None or result["server_not_handled"] else per_turn / 1000
        cpu = result.get("cpu", {})
        cpu_text = " / ".join(
            fmt(cpu.get(key), 0)
            for key in (
                "server_pct_core",
                "client_pct_core",
                "redis_pct_core",
                "postgres_pct_core",
                "other_pct_core",
            )
        )
        lines.append(
            f"| {result['backend']} | {result['channel']} | {result['conversations']:,} "
            f"| {result['load']}{mark} | {result['messages']:,} "
            f"| {fmt(result['messages_per_second'], 0)} "
            f"| {triple(result['client_latency'])} | {triple(result['server_latency'])} "
            f"| {result['errors']:,} | {fmt(per_turn, 2)} | {cpu_text} |"
        )
    return "\n".join(lines)


def cpu_per_turn(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per backend: the server's CPU seconds over its closed-loop windows per turn logged."""
    totals: dict[str, dict[str, Any]] = {}
    for result in results:
        seconds = result.get("cpu", {}).get("server_cpu_s")
        if result["load"] != "closed" or seconds is None or not result["server_turns"]:
            continue
        total = totals.setdefault(result["backend"], {"cpu_s": 0.0, "turns": 0})
        total["cpu_s"] += seconds
        total["turns"] += result["server_turns"]
    for total in totals.values():
        total["ms"] = round(1000 * total["cpu_s"] / total["turns"], 3)
    return totals


def cpu_list(text: str) -> set[int]:
    """A taskset-style CPU list ("0", "0,1", "0-1") as a set."""
    cpus: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def check_targets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets: one worker process, Redis sessions, on this machine.

    A scenario with failed turns meets no target, however fast its failures were."""
    checks: list[dict[str, Any]] = []

    def add(target: str, result: dict[str, Any], measured: float | None, met: bool) -> None:
        clean = result["errors"] == 0 and result["server_not_handled"] == 0
        checks.append(
            {
                "target": target,
                "measured": measured,
                "errors": result["errors"],
                "server_not_handled": result["server_not_handled"],
                "met": measured is not None and met and clean,
            }
        )

    for result in results:
        if result["backend"] != "redis":
            continue
        name = f"redis {result['channel']} x{result['conversations']} {result['load']}"
        server = result["server_latency"]
        if result["conversations"] == 100:
            p50, p99 = server["p50_ms"], server["p99_ms"]
            add(f"{name}: server p50 < 5 ms", result, p50, p50 is not None and p50 < 5)
            add(f"{name}: server p99 < 25 ms", result, p99, p99 is not None and p99 < 25)
        if result["channel"] == "ws" and result["conversations"] == 1000:
            rate = result["messages_per_second"]
            add(f"{name}: >= 1,000 messages/s", result, rate, (rate or 0) >= 1000)
    return checks


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        model = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
            "",
        )
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "aiohttp": aiohttp.__version__,
        "event_loop": type(asyncio.get_running_loop()).__module__,
    }


# --------------------------------------------------------------------------------------------
# Driver


def split(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="~40 s smoke run (short windows)")
    parser.add_argument("--backends", default="memory,redis", help="memory,redis")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (serve --workers; redis only)"
    )
    parser.add_argument(
        "--database-url", help="PostgreSQL URL, which more than one worker needs (migrated first)"
    )
    parser.add_argument("--channels", default="rest,ws", help="rest,ws")
    parser.add_argument(
        "--conversations", default="1,100,1000", help="closed-loop conversation counts"
    )
    parser.add_argument(
        "--paced-rates",
        help='offered messages/s of the paced scenarios: 50,200 (--quick: 200; "" for none)',
    )
    parser.add_argument(
        "--paced-conversations", type=int, default=100, help="conversations of paced scenarios"
    )
    parser.add_argument(
        "--seconds", type=float, help="measured seconds per closed-loop scenario (max)"
    )
    parser.add_argument(
        "--paced-seconds", type=float, help="measured seconds per paced scenario (max)"
    )
    parser.add_argument("--messages", type=int, help="measured messages per scenario (max)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds, left out of the figures")
    parser.add_argument(
        "--no-ids",
        action="store_true",
        help="send no message ids (skips the dedupe store; ids are sent by default)",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        help="seconds to wait at most, before each scenario, for other load on the machine",
    )
    parser.add_argument(
        "--retries",
        type=int,
        help="runs again, at most this many times, a scenario during which other processes "
        f"used over {NOISY_CORES:g} cores (the quietest run is kept; default 1, --quick 0)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=345.0,
        help="a scenario is run again for noise only if the whole run still fits in this many "
        "seconds (estimated; default 345)",
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="flushed before use!")
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=DEFAULT_MODELS_DIR,
        help="RSV_MODELS_DIR of the servers: trained NLU models, reused between runs",
    )
    parser.add_argument(
        "--server-cpus", help="run the server on these CPUs (taskset -c list, e.g. 1)"
    )
    parser.add_argument("--client-cpus", help="pin the load generator to these CPUs (e.g. 0)")
    parser.add_argument(
        "--redis-cpus", help="pin the local Redis server's threads to these CPUs for the run"
    )
    parser.add_argument(
        "--keep-logs", type=Path, metavar="DIR", help="keep the servers' logs in DIR"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    arguments = parser.parse_args(argv)
    quick = arguments.quick
    if arguments.paced_rates is None:
        arguments.paced_rates = "200" if quick else "50,200"
    if arguments.seconds is None:
        arguments.seconds = 1.0 if quick else 10.0
    if arguments.paced_seconds is None:
        arguments.paced_seconds = 1.0 if quick else 8.0
    if arguments.messages is None:
        arguments.messages = 2_000 if quick else 10_000
    if arguments.retries is None:
        arguments.retries = 0 if quick else 1
    if arguments.warmup is None:
        arguments.warmup = 0.5 if quick else 2.0
    if arguments.wait_idle is None:
        arguments.wait_idle = 0.0 if quick else 2.0
    arguments.backends = split(arguments.backends)
    arguments.channels = split(arguments.channels)
    try:
        arguments.conversations = [int(item) for item in split(arguments.conversations)]
        arguments.paced_rates = [float(item) for item in split(arguments.paced_rates)]
    except ValueError:
        parser.error("--conversations and --paced-rates take comma-separated numbers")
    if not set(arguments.backends) <= {"memory", "redis"}:
        parser.error("--backends takes memory and/or redis")
    if not set(arguments.channels) <= {"rest", "ws"}:
        parser.error("--channels takes rest and/or ws")
    counts = [*arguments.conversations, arguments.paced_conversations]
    if any(n < 1 or n > 5000 for n in counts):
        parser.error("conversation counts must be between 1 and 5000")
    if any(rate <= 0 or rate > 100_000 for rate in arguments.paced_rates):
        parser.error("--paced-rates must be in (0, 100000]")
    if not 0 < arguments.seconds <= 120 or not 0 < arguments.paced_seconds <= 120:
        parser.error("--seconds and --paced-seconds must be in (0, 120]")
    if not 0 <= arguments.warmup <= 30 or not 0 <= arguments.retries <= 5:
        parser.error("--warmup must be in [0, 30] and --retries in [0, 5]")
    if not 0 < arguments.messages <= 1_000_000 or not 0 <= arguments.wait_idle <= 60:
        parser.error("--messages must be in (0, 1000000] and --wait-idle in [0, 60]")
    if not on_this_machine(arguments.redis_url):
        parser.error("--redis-url must be on the loopback interface or a unix socket")
    return arguments


def on_this_machine(url: str) -> bool:
    """Whether a Redis or database URL names a server on the loopback interface or a unix
    socket (``unix://path``, or a ``host=/directory`` query as libpq and asyncpg read it)."""
    parts = urlsplit(url)
    on_socket = parts.scheme == "unix" or any(
        value.startswith("/") for name, value in parse_qsl(parts.query) if name == "host"
    )
    return on_socket or parts.hostname in {"127.0.0.1", "localhost", "::1"}


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def progress_line(index: str, scenario: Scenario, result: dict[str, Any]) -> str:
    client, server = result["client_latency"], result["server_latency"]
    line = (
        f"{index} {scenario.label}: {result['messages']:,} msgs, "
        f"{fmt(result['messages_per_second'], 0)} msg/s, client p50/p99 "
        f"{fmt(client['p50_ms'], 2)}/{fmt(client['p99_ms'], 2)} ms, server p50/p99 "
        f"{fmt(server['p50_ms'], 2)}/{fmt(server['p99_ms'], 2)} ms, errors {result['errors']}"
    )
    collected = result["server_gc"]
    line += (
        f"\n  garbage collector (warm-up included): {collected['seconds']:.3f} s in "
        f"{collected['passes']} passes, {collected['passes_over_50ms']} over 50 ms"
    )
    if result["server_not_handled"]:
        line += f", server statuses {result['server_statuses']}"
    if result["server_log_lines"] != result["server_histogram_count"]:
        line += (
            f"\n  warning: {result['server_log_lines']} turn log lines but "
            f"{result['server_histogram_count']:g} turns in /metrics"
        )
    return line


def source_version() -> dict[str, Any]:
    """The commit the figures belong to, and whether the working tree differed from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=BENCH_DIR, capture_output=True, text=True, check=True
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=BENCH_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "modified_files": None}
    return {"commit": commit, "modified_files": [line[3:] for line in changes]}


def cost(scenario: Scenario, limits: Limits, wait_idle: float) -> float:
    """A generous estimate of one scenario's seconds, set-up and idle wait included."""
    window = limits.seconds if scenario.rate is None else limits.paced_seconds
    return wait_idle + limits.warmup + window + 1.5 + scenario.conversations / 500


def noise(result: dict[str, Any]) -> float:
    """Cores used by other processes during the window (0 when unknown)."""
    return float(result.get("cpu", {}).get("other_pct_core") or 0.0) / 100


async def run_backend(
    backend: str,
    scenarios: list[Scenario],
    arguments: argparse.Namespace,
    limits: Limits,
    scratch: Path,
    run_id: str,
    results: list[dict[str, Any]],
    mixes: dict[str, list[str]],
    started: float,
) -> None:
    redis_url = arguments.redis_url if backend == "redis" else None
    if redis_url is not None:
        await flush_redis(redis_url)
    server = Server(
        backend,
        redis_url,
        scratch,
        arguments.models_dir,
        arguments.server_cpus,
        arguments.workers,
        arguments.database_url,
    )
    log(f"starting {' '.join(server.command)} ({backend}) on port {server.port}")
    try:
        await server.start()
        mix = mixes[backend] = await preflight(server, TEXTS)
        redis = await redis_pid(arguments.redis_url) if redis_url else None
        for number, scenario in enumerate(scenarios, 1):
            if scenario.backend != backend:
                continue
            index = f"[{number}/{len(scenarios)}]"
            kept: dict[str, Any] | None = None
            for attempt in range(arguments.retries + 1):
                if attempt:
                    remaining = sum(
                        cost(s, limits, arguments.wait_idle) for s in scenarios[number - 1 :]
                    )
                    late = time.perf_counter() - started + remaining > arguments.budget
                    if noise(kept or {}) <= NOISY_CORES or late:
                        break
                busy = await wait_for_quiet_machine(arguments.wait_idle)
                before = "" if math.isnan(busy) else f" (machine busy before: {busy:g} cores)"
                again = " again, other processes were busy" if attempt else ""
                log(f"{index} {scenario.label}{again}{before} ...")
                result = await run_scenario(server, scenario, mix, limits, redis, run_id)
                result["busy_cores_before"] = None if math.isnan(busy) else busy
                result["attempt"] = attempt + 1
                log(progress_line(index, scenario, result))
                if kept is None or noise(result) < noise(kept):
                    kept = result
            assert kept is not None
            kept["noisy"] = noise(kept) > NOISY_CORES
            results.append(kept)
    finally:
        await server.stop()


async def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    if arguments.client_cpus:
        os.sched_setaffinity(0, cpu_list(arguments.client_cpus))
    limits = Limits(
        arguments.warmup,
        arguments.seconds,
        arguments.paced_seconds,
        arguments.messages,
        not arguments.no_ids,
    )
    run_id = secrets.token_hex(4)
    scenarios = [
        Scenario(backend, channel, conversations)
        for backend in arguments.backends
        for channel in arguments.channels
        for conversations in arguments.conversations
    ] + [
        Scenario(backend, channel, arguments.paced_conversations, rate)
        for backend in arguments.backends
        for channel in arguments.channels
        for rate in arguments.paced_rates
    ]
    scenarios.sort(key=lambda s: arguments.backends.index(s.backend))
    results: list[dict[str, Any]] = []
    mixes: dict[str, list[str]] = {}
    source = source_version()
    started = time.perf_counter()
    log(
        f"{len(scenarios)} scenarios, each {limits.warmup:g} s warm-up then at most "
        f"{limits.seconds:g} s (paced: {limits.paced_seconds:g} s) "
        f"or {limits.max_messages:,} messages"
    )
    pinned_redis = await redis_pid(arguments.redis_url) if arguments.redis_cpus else None
    with (
        tempfile.TemporaryDirectory(prefix="rsv360-bench-") as temporary,
        pinned_threads(pinned_redis, arguments.redis_cpus),
    ):
        scratch = arguments.keep_logs or Path(temporary)
        scratch.mkdir(parents=True, exist_ok=True)
        for backend in arguments.backends:
            await run_backend(
                backend, scenarios, arguments, limits, scratch, run_id, results, mixes, started
            )
        if "redis" in arguments.backends:
            await flush_redis(arguments.redis_url)

    targets = check_targets(results)
    document = {
        "benchmark": "conversation engine (REST and WebSocket)",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "source": source,
        "machine": machine(),
        "server_command": [*server_command(), f"(workers: {arguments.workers})"],
        "settings": {
            "warmup_seconds": limits.warmup,
            "max_seconds_closed": limits.seconds,
            "max_seconds_paced": limits.paced_seconds,
            "max_messages": limits.max_messages,
            "message_ids": limits.ids,
            "rate_limits_file": str(RATE_LIMITS_FILE.relative_to(BENCH_DIR.parent)),
            "redis_url": arguments.redis_url,
            "texts": list(TEXTS),
            "texts_used": mixes,
            "noisy_above_cores": NOISY_CORES,
            "server_latency_source": "exact: ms field of the server's JSON turn log lines",
        },
        "results": results,
        "targets": targets,
        "cpu_per_turn_ms": cpu_per_turn(results),
        "cpus": {
            "server": arguments.server_cpus,
            "client": arguments.client_cpus,
            "redis": arguments.redis_cpus,
        },
        "elapsed_seconds": round(time.perf_counter() - started, 1),
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    print(markdown_table(results))
    print()
    for backend, figure in cpu_per_turn(results).items():
        print(
            f"- {backend}: {fmt(figure['ms'], 2)} ms of server CPU per turn "
            f"({figure['cpu_s']:.2f} s over {figure['turns']:,} closed-loop turns)"
        )
    if any(result["noisy"] for result in results):
        print(
            f"\n{NOISY_MARK.strip()} other processes used over {NOISY_CORES:g} cores during "
            "this window: its figures understate the bot"
        )
    if targets:
        print()
        for check in targets:
            verdict = "met" if check["met"] else "MISSED"
            failures = ""
            if check["errors"] or check["server_not_handled"]:
                failures = (
                    f" ({check['errors']:,} client errors, "
                    f"{check['server_not_handled']:,} turns not handled)"
                )
            print(f"- {check['target']}: {fmt(check['measured'], 2)}{failures} — {verdict}")
    log(f"\nJSON: {arguments.output} ({document['elapsed_seconds']} s in all)")
    return 0


if __name__ == "__main__":
    # The servers run on uvloop; so does the load generator, which shares their cores and costs
    # them less CPU on it.
    sys.exit(uvloop.run(main()))
