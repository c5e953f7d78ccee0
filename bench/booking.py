"""Benchmark of the booking domain: availability + quote, and concurrent holds.

For each backend (an embedded SQLite file, PostgreSQL on loopback) the script:

1. migrates an empty schema (``bot.stores.migrations.upgrade``) and bulk-loads a catalog of 200
   properties with 3 room types each, the demo's seasons and weekday rates, and a year of
   inventory (219,000 rows), about a third of the days already partly or fully taken;
2. times ``Quotes.offers`` (availability and a quote of every free room type) for a
   3-night stay at a random property and date, one call at a time, after a warm-up;
3. fires 200 holds at once (``asyncio.gather``) on 20 room types and 5 overlapping check-in
   days, so that many compete for the same rooms, and checks the inventory afterwards;
4. times one ``extend_inventory`` pass over the full catalog (the upkeep every worker runs).

It also records where the time of an ``offers`` call goes, per SQL statement (time from the
driver call to its result, measured with SQLAlchemy's cursor events).

    .venv/bin/python bench/booking.py                        # both backends, about 1 minute
    .venv/bin/python bench/booking.py --backends postgresql --calls 2000
    .venv/bin/python bench/booking.py --quick                # smoke run: 20 properties

PostgreSQL must listen on loopback; the script uses (and creates when missing) its own database,
``rsv360_bench`` by default, and drops the booking tables there before and after the run. The
SQLite file lives in a temporary directory. A Markdown table goes to stdout, JSON to
bench/results/booking.json; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from figures import percentile, summary
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

import actions.booking.tables  # noqa: F401  (registers the booking tables on the metadata)
from actions.booking.catalog import FRIDAY, SATURDAY, demo_seasons, extend_inventory
from actions.booking.errors import StayTooShort, Unavailable
from actions.booking.holds import Guest, Holds
from actions.booking.quotes import Quotes
from actions.booking.tables import Inventory, Product, Property, Rate, Season
from actions.tables import Base
from bot.core.clock import system_now
from bot.stores import migrations
from bot.stores.database import Database

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT = BENCH_DIR / "results" / "booking.json"
DEFAULT_POSTGRESQL_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/rsv360_bench"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ZONE = ZoneInfo("America/Sao_Paulo")
ROOM_TYPES = (
    # code, names, units, max adults, max children, base rate (centavos)
    ("standard", {"pt_BR": "Quarto Standard", "en": "Standard Room"}, 8, 2, 1, 30000),
    ("superior", {"pt_BR": "Quarto Superior", "en": "Superior Room"}, 4, 2, 2, 42000),
    ("chalet", {"pt_BR": "Chalé", "en": "Chalet"}, 2, 4, 3, 61000),
)
CITIES = ("Ubatuba", "Paraty", "Cunha", "Ilhabela", "Campos do Jordão", "Tiradentes", "Búzios")
STAY_NIGHTS = 3
TARGET_P50_MS = 5.0


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, summed over its cores (Linux)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            values = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(values[:8]) - values[3] - values[4]) / ticks, sum(values[:8]) / ticks


async def wait_for_quiet_machine(max_wait: float, threshold: float = 0.3) -> float:
    """Wait (at most ``max_wait`` s) until the machine uses under ``threshold`` cores; return
    the cores busy in the last half second, for the record."""
    deadline = time.monotonic() + max_wait
    while True:
        busy_before, _ = machine_busy_seconds()
        await asyncio.sleep(0.5)
        cores = (machine_busy_seconds()[0] - busy_before) / 0.5
        if cores < threshold or time.monotonic() >= deadline:
            return round(cores, 2)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Databases


def check_loopback(url: str) -> None:
    host = make_url(url).host
    if host is not None and host not in LOOPBACK:
        raise SystemExit(f"refusing a non-loopback PostgreSQL host: {host!r}")


async def ensure_postgresql_database(url: str) -> None:
    """Create the benchmark's database when it does not exist yet."""
    name = make_url(url).database
    admin = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                log(f"creating database {name}")
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


async def drop_tables(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


async def server_version(database: Database) -> str:
    async with database.engine.connect() as connection:
        if database.is_sqlite:
            return "SQLite " + str(await connection.scalar(text("SELECT sqlite_version()")))
        return str(await connection.scalar(text("SHOW server_version")))


# --------------------------------------------------------------------------------------------
# The catalog


@dataclass(frozen=True, slots=True)
class Catalog:
    places: int
    products: list[tuple[int, int]]
    """(product id, property id)"""
    today: date
    days: int
    inventory_rows: int
    seconds: float


def catalog_rows(
    properties: int, today: date, rng: random.Random
) -> tuple[list[dict[str, Any]], ...]:
    places, seasons, products, rates = [], [], [], []
    for place_id in range(1, properties + 1):
        places.append(
            {
                "id": place_id,
                "slug": f"bench-{place_id:04d}",
                "name": f"Pousada Bench {place_id}",
                "kind": "pousada",
                "city": rng.choice(CITIES),
                "timezone": "America/Sao_Paulo",
                "currency": "BRL",
                "tax_percent": rng.choice((0, 5, 10)),
                "fee_per_stay": rng.choice((0, 3000, 4000)),
                "free_cancel_days": 7,
                "partial_cancel_days": 2,
                "partial_refund_percent": 50,
            }
        )
        season_ids = []
        for name, starts_on, ends_on, min_stay, percent in demo_seasons(today):
            season_id = len(seasons) + 1
            seasons.append(
                {
                    "id": season_id,
                    "property_id": place_id,
                    "name": name,
                    "starts_on": starts_on,
                    "ends_on": ends_on,
                    "min_stay": min_stay,
                }
            )
            season_ids.append((season_id, percent))
        for code, names, units, max_adults, max_children, base in ROOM_TYPES:
            product_id = len(products) + 1
            products.append(
                {
                    "id": product_id,
                    "property_id": place_id,
                    "code": code,
                    "kind": "room",
                    "names": names,
                    "units": units,
                    "max_adults": max_adults,
                    "max_children": max_children,
                    "min_stay": 1,
                }
            )
            amounts = [(None, None, base), (None, FRIDAY, base * 120 // 100),
                       (None, SATURDAY, base * 120 // 100)]  # fmt: skip
            amounts += [
                (season_id, None, base * percent // 100) for season_id, percent in season_ids
            ]
            for season_id, weekday, amount in amounts:
                rates.append(
                    {
                        "id": len(rates) + 1,
                        "product_id": product_id,
                        "season_id": season_id,
                        "weekday": weekday,
                        "amount": amount,
                    }
                )
    return places, seasons, products, rates


def inventory_rows(
    products: list[dict[str, Any]], today: date, days: int, occupancy: float, rng: random.Random
) -> Iterator[dict[str, Any]]:
    """A year of inventory; on about ``occupancy`` of the days some rooms (or all) are taken."""
    for product in products:
        total = product["units"]
        for offset in range(days):
            taken = rng.randint(1, total) if rng.random() < occupancy else 0
            yield {
                "product_id": product["id"],
                "day": today + timedelta(days=offset),
                "total": total,
                "taken": taken,
            }


async def build_catalog(
    database: Database, properties: int, days: int, occupancy: float, seed: int
) -> Catalog:
    started = time.perf_counter()
    rng = random.Random(seed)
    today = datetime.now(ZONE).date()
    places, seasons, products, rates = catalog_rows(properties, today, rng)
    async with database.session() as session:
        for model, rows in (
            (Property, places),
            (Season, seasons),
            (Product, products),
            (Rate, rates),
        ):
            await session.execute(insert(model), rows)
        if not database.is_sqlite:  # explicit ids: move the sequences past them
            for table in ("properties", "seasons", "products", "rates"):
                await session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    log(
        f"catalog: {len(places)} properties, {len(products)} room types, {len(seasons)} seasons, "
        f"{len(rates)} rates"
    )
    expected = len(products) * days
    chunk: list[dict[str, Any]] = []
    written = 0
    report_every = max(expected // 10, 1)
    next_report = report_every
    async with database.session() as session:
        for row in inventory_rows(products, today, days, occupancy, rng):
            chunk.append(row)
            if len(chunk) == 10_000:
                await session.execute(insert(Inventory), chunk)
                written += len(chunk)
                chunk = []
                if written >= next_report:
                    log(f"inventory: {written:,} / {expected:,} rows")
                    next_report += report_every
        if chunk:
            await session.execute(insert(Inventory), chunk)
            written += len(chunk)
    log(f"inventory: {written:,} rows in {time.perf_counter() - started:.1f} s")
    if not database.is_sqlite:
        async with database.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))  # as autovacuum would after a bulk load
    pairs = [(product["id"], product["property_id"]) for product in products]
    return Catalog(properties, pairs, today, days, written, time.perf_counter() - started)


# --------------------------------------------------------------------------------------------
# Where the time goes: SQL statements


class StatementTimer:
    """Time of each SQL statement from the driver call to its result, by statement shape."""

    def __init__(self, database: Database) -> None:
        self.enabled = False
        self.times: dict[str, list[float]] = defaultdict(list)
        engine = database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        started = conn.info["bench_started"].pop()
        if self.enabled:
            self.times[shape(statement)].append((time.perf_counter() - started) * 1000)

    @contextmanager
    def recording(self) -> Iterator[None]:
        self.enabled = True
        try:
            yield
        finally:
            self.enabled = False


def shape(statement: str) -> str:
    words = " ".join(statement.split())
    if words.startswith("SELECT"):
        table = words.split(" FROM ", 1)[1].split()[0] if " FROM " in words else "?"
        what = "count" if "count(" in words else "rows"
        return f"SELECT {what} FROM {table}"
    return " ".join(words.split()[:3])


# --------------------------------------------------------------------------------------------
# Measurements


def free_window(today: date, length: int) -> date:
    """The first day at least 20 days ahead from which ``length`` days are out of every season
    (so that holds are not refused for a minimum stay)."""
    seasons = demo_seasons(today)
    start = today + timedelta(days=20)
    while any(
        s_from <= start + timedelta(days=offset) <= s_to
        for offset in range(length)
        for _, s_from, s_to, _, _ in seasons
    ):
        start += timedelta(days=1)
    return start


async def measure_offers(
    quotes: Quotes,
    catalog: Catalog,
    calls: int,
    warmup: int,
    max_seconds: float,
    rng: random.Random,
    timer: StatementTimer,
) -> dict[str, Any]:
    samples: list[float] = []
    outcomes: Counter[str] = Counter()
    offers_found = 0
    deadline = time.monotonic() + max_seconds
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    busy_before, _ = machine_busy_seconds()
    for number in range(warmup + calls):
        if number == warmup:
            cpu_before, wall_before = time.process_time(), time.perf_counter()
            busy_before, _ = machine_busy_seconds()
        place = rng.randint(1, catalog.places)
        check_in = catalog.today + timedelta(days=rng.randint(1, catalog.days - STAY_NIGHTS - 1))
        children = rng.choice((0, 0, 1))
        measured = number >= warmup
        started = time.perf_counter()
        with timer.recording() if measured else nullcontext():
            try:
                found = await quotes.offers(
                    place, check_in, check_in + timedelta(days=STAY_NIGHTS), 2, children
                )
                outcome = "offers" if found else "sold out"
            except StayTooShort:
                found, outcome = [], "minimum stay"
        elapsed = (time.perf_counter() - started) * 1000
        if measured:
            samples.append(elapsed)
            outcomes[outcome] += 1
            offers_found += len(found)
        if number % 100 == 99:
            log(f"offers: {number + 1 - warmup if measured else 0} / {calls} calls")
        if time.monotonic() > deadline:
            log("offers: time bound reached")
            break
    wall = time.perf_counter() - wall_before
    cpu = time.process_time() - cpu_before
    busy = machine_busy_seconds()[0] - busy_before
    return {
        **summary(samples),
        "calls_per_s": len(samples) / wall if wall else None,
        "client_cpu_ms_per_call": 1000 * cpu / max(len(samples), 1),
        # cores used by everything else on the machine (the PostgreSQL server included)
        "other_cores": round(max(busy - cpu, 0.0) / wall, 2) if wall else None,
        "bench_cores": round(cpu / wall, 2) if wall else None,
        "outcomes": dict(outcomes),
        "offers_per_call": offers_found / max(len(samples), 1),
    }


@contextmanager
def nullcontext() -> Iterator[None]:
    yield


async def inventory_totals(database: Database, product_ids: Sequence[int]) -> tuple[int, int]:
    """(sum of taken, days over their total) over the products."""
    async with database.session() as session:
        taken = await session.scalar(
            select(func.coalesce(func.sum(Inventory.taken), 0)).where(
                Inventory.product_id.in_(product_ids)
            )
        )
        over = await session.scalar(
            select(func.count()).select_from(Inventory).where(Inventory.taken > Inventory.total)
        )
    return int(taken or 0), int(over or 0)


async def measure_holds(
    database: Database,
    hold_desk: Holds,
    catalog: Catalog,
    attempts: int,
    hot_products: int,
    checkin_days: int,
    bound_seconds: float,
    rng: random.Random,
) -> dict[str, Any]:
    products = [product for product, _ in rng.sample(catalog.products, hot_products)]
    first = free_window(catalog.today, checkin_days + STAY_NIGHTS)
    checkins = [first + timedelta(days=offset) for offset in range(checkin_days)]
    plans = [(rng.choice(products), rng.choice(checkins)) for _ in range(attempts)]
    taken_before, _ = await inventory_totals(database, products)

    async def one(number: int, product_id: int, check_in: date) -> tuple[str, float, int]:
        started = time.perf_counter()
        guest = Guest(f"Bench Guest {number}", f"guest{number}@bench.example")
        try:
            reservation = await hold_desk.hold(
                product_id,
                check_in,
                check_in + timedelta(days=STAY_NIGHTS),
                2,
                0,
                guest,
                "bench",
                f"bench-{number}",
                "pt_BR",
                "bench",
            )
            outcome, units = "succeeded", reservation.units
        except Unavailable:
            outcome, units = "unavailable", 0
        except Exception as error:
            outcome, units = f"error: {type(error).__name__}: {error}"[:200], 0
        return outcome, (time.perf_counter() - started) * 1000, units

    log(
        f"holds: {attempts} at once on {hot_products} room types, check-in {checkins[0]} "
        f"to {checkins[-1]}, {STAY_NIGHTS} nights"
    )
    started = time.perf_counter()
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(one(n, *plan) for n, plan in enumerate(plans))), bound_seconds
        )
    except TimeoutError:
        results = []
        log(f"holds: not complete after {bound_seconds} s")
    wall = time.perf_counter() - started
    taken_after, over_total = await inventory_totals(database, products)
    counts = Counter(outcome for outcome, _, _ in results)
    errors = {outcome: count for outcome, count in counts.items() if outcome.startswith("error")}
    nights_taken = sum(units for _, _, units in results) * STAY_NIGHTS
    return {
        "attempts": attempts,
        "completed": len(results),
        "succeeded": counts["succeeded"],
        "unavailable": counts["unavailable"],
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "wall_s": wall,
        "latency": summary([ms for _, ms, _ in results]),
        "inventory_consistent": taken_after - taken_before == nights_taken and over_total == 0,
        "taken_delta": taken_after - taken_before,
        "nights_held": nights_taken,
    }


async def loop_lag(stop: asyncio.Event, lags: list[float], tick: float = 0.005) -> None:
    """How late the event loop wakes a task up: what every other conversation of a worker would
    wait while the loop is busy elsewhere."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(tick)
        lags.append((time.perf_counter() - started - tick) * 1000)


async def measure_extend(database: Database, catalog: Catalog) -> dict[str, Any]:
    """One upkeep pass over a full catalog: every day already exists, nothing is inserted."""
    stop, lags = asyncio.Event(), []
    probe = asyncio.create_task(loop_lag(stop, lags))
    started = time.perf_counter()
    cpu_before = time.process_time()
    attempted = await extend_inventory(database, catalog.today, days=catalog.days)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    stop.set()
    await probe
    async with database.session() as session:
        rows = await session.scalar(select(func.count()).select_from(Inventory))
    return {
        "rows_attempted": attempted,
        "rows_after": rows,
        "seconds": seconds,
        "bench_cpu_s": cpu,
        "max_loop_lag_ms": max(lags, default=None),
    }


# --------------------------------------------------------------------------------------------
# One backend


async def run_backend(backend: str, arguments: argparse.Namespace) -> dict[str, Any]:
    scratch = None
    if backend == "sqlite":
        scratch = tempfile.TemporaryDirectory(prefix="rsv360-bench-")
        url = f"sqlite+aiosqlite:///{scratch.name}/booking.db"
    else:
        url = arguments.postgresql_url
        check_loopback(url)
        await ensure_postgresql_database(url)
    log(f"== {backend}: {make_url(url).render_as_string(hide_password=True)}")
    database = Database(url)
    try:
        await drop_tables(database)
        await migrations.upgrade(database)
        version = await server_version(database)
        catalog = await build_catalog(
            database, arguments.properties, arguments.days, arguments.occupancy, arguments.seed
        )
        timer = StatementTimer(database)
        rng = random.Random(arguments.seed + 1)
        quotes = Quotes(database, system_now)
        hold_desk = Holds(database, system_now, hold_minutes=15)
        quiet = {"offers": await wait_for_quiet_machine(arguments.quiet_wait)}
        log(f"offers: other load before the window {quiet['offers']} cores")
        offers = await measure_offers(
            quotes, catalog, arguments.calls, arguments.warmup, arguments.max_seconds, rng, timer
        )
        log(
            f"offers: p50 {offers['p50_ms']:.2f} ms, p95 {offers['p95_ms']:.2f} ms, "
            f"p99 {offers['p99_ms']:.2f} ms"
        )
        statements = {
            name: {
                "count_per_call": len(values) / max(offers["count"], 1),
                "mean_ms": sum(values) / len(values),
                "p50_ms": percentile(sorted(values), 0.5),
            }
            for name, values in sorted(timer.times.items(), key=lambda item: -sum(item[1]))
        }
        quiet["holds"] = await wait_for_quiet_machine(arguments.quiet_wait)
        holds = await measure_holds(
            database,
            hold_desk,
            catalog,
            arguments.holds,
            arguments.hot_products,
            arguments.checkin_days,
            arguments.max_seconds,
            rng,
        )
        log(
            f"holds: {holds['succeeded']} succeeded, {holds['unavailable']} unavailable, "
            f"{holds['errors']} errors in {holds['wall_s']:.2f} s"
        )
        quiet["extend_inventory"] = await wait_for_quiet_machine(arguments.quiet_wait)
        extend = await measure_extend(database, catalog)
        log(
            f"extend_inventory: {extend['seconds']:.2f} s, event loop blocked up to "
            f"{extend['max_loop_lag_ms']:.0f} ms"
        )
        return {
            "backend": backend,
            "server": version,
            "catalog": {
                "properties": catalog.places,
                "room_types": len(catalog.products),
                "inventory_rows": catalog.inventory_rows,
                "build_s": catalog.seconds,
            },
            "busy_cores_before": quiet,
            "offers": offers,
            "offers_statements": statements,
            "holds": holds,
            "extend_inventory": extend,
        }
    finally:
        if not arguments.keep:
            await drop_tables(database)
        await database.close()
        if scratch is not None and not arguments.keep:
            scratch.cleanup()
        elif scratch is not None:
            log(f"kept {scratch.name}/booking.db")


# --------------------------------------------------------------------------------------------
# Report


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in cpuinfo
                    if line.startswith("model name")
                ),
                "",
            )
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=BENCH_DIR,
            check=False,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                cwd=BENCH_DIR,
                check=False,
            ).stdout.strip()
        )
    except OSError:
        commit, dirty = "", False
    import aiosqlite
    import asyncpg
    import sqlalchemy

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(memory, 1),
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "asyncpg": asyncpg.__version__,
        "aiosqlite": aiosqlite.__version__,
        "sqlite_library": sqlite3.sqlite_version,
        "commit": commit + (" (modified working tree)" if dirty else ""),
        "load_average": os.getloadavg(),
    }


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| backend | offers calls | offers p50 / p95 / p99 ms | offers/s | bench CPU ms/call "
        "| other cores | holds completed | succeeded | unavailable | errors | holds wall s "
        "| hold p50 / p99 ms | inventory ok | catalog load s | extend_inventory s "
        "| its longest loop stall ms |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|",
    ]
    for result in results:
        offers, holds = result["offers"], result["holds"]
        lines.append(
            f"| {result['backend']} | {offers['count']} | {ms(offers['p50_ms'])} / "
            f"{ms(offers['p95_ms'])} / {ms(offers['p99_ms'])} | {offers['calls_per_s']:.0f} | "
            f"{offers['client_cpu_ms_per_call']:.2f} | {offers['other_cores']:.2f} | "
            f"{holds['completed']} / {holds['attempts']} | {holds['succeeded']} | "
            f"{holds['unavailable']} | {holds['errors']} | {holds['wall_s']:.2f} | "
            f"{ms(holds['latency']['p50_ms'])} / {ms(holds['latency']['p99_ms'])} | "
            f"{'yes' if holds['inventory_consistent'] else '**no**'} | "
            f"{result['catalog']['build_s']:.1f} | {result['extend_inventory']['seconds']:.2f} | "
            f"{ms(result['extend_inventory']['max_loop_lag_ms'])} |"
        )
    lines += ["", "Per `offers` call, by SQL statement (driver call to result):", ""]
    lines += ["| backend | statement | per call | mean ms |", "|---|---|--:|--:|"]
    for result in results:
        for name, figures in result["offers_statements"].items():
            lines.append(
                f"| {result['backend']} | `{name}` | {figures['count_per_call']:.1f} | "
                f"{figures['mean_ms']:.3f} |"
            )
    lines += ["", "Targets:", ""]
    for result in results:
        offers, holds = result["offers"], result["holds"]
        p50_met = offers["p50_ms"] is not None and offers["p50_ms"] < TARGET_P50_MS
        holds_met = holds["completed"] == holds["attempts"] and holds["errors"] == 0
        lines.append(
            f"- {result['backend']}: offers p50 < {TARGET_P50_MS:g} ms: "
            f"{'met' if p50_met else '**missed**'} ({ms(offers['p50_ms'])} ms); "
            f"{holds['attempts']} concurrent holds without deadlocks or errors: "
            f"{'met' if holds_met and holds['inventory_consistent'] else '**missed**'}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backends",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (default both)",
    )
    parser.add_argument(
        "--postgresql-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_POSTGRESQL_URL),
        help="loopback only; the database is created when missing",
    )
    parser.add_argument("--properties", type=int, default=200)
    parser.add_argument("--days", type=int, default=365, help="inventory days per room type")
    parser.add_argument(
        "--occupancy", type=float, default=0.35, help="share of days with some rooms already taken"
    )
    parser.add_argument("--calls", type=int, default=500, help="measured offers calls")
    parser.add_argument("--warmup", type=int, default=50, help="offers calls left out")
    parser.add_argument("--holds", type=int, default=200, help="concurrent hold attempts")
    parser.add_argument(
        "--hot-products", type=int, default=20, help="room types the holds are spread over"
    )
    parser.add_argument(
        "--checkin-days",
        type=int,
        default=5,
        help="consecutive check-in days the holds are spread over",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=120.0, help="bound of each measured phase"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="seconds to wait for a quiet machine before each phase",
    )
    parser.add_argument("--seed", type=int, default=360)
    parser.add_argument("--quick", action="store_true", help="20 properties, 200 calls, 100 holds")
    parser.add_argument("--keep", action="store_true", help="keep the databases' tables")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.properties, arguments.calls, arguments.holds = 20, 200, 100
        arguments.quiet_wait = 0.0
    backends = [name.strip() for name in arguments.backends.split(",") if name.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    arguments.hot_products = min(arguments.hot_products, arguments.properties * len(ROOM_TYPES))

    started = time.perf_counter()
    results = [asyncio.run(run_backend(backend, arguments)) for backend in backends]
    report = {
        "machine": machine(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "seconds": time.perf_counter() - started,
        "results": results,
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2, default=str))
    log(f"done in {report['seconds']:.0f} s; JSON in {arguments.output}")
    print(markdown(results))


if __name__ == "__main__":
    main()
