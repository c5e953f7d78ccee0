"""Response times of the staff console's pages over a large database.

    DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python bench/console.py [--reservations 100000] [--messages 1000000] \\
        [--requests 200]

The database named by ``DATABASE_URL`` is DROPPED and migrated afresh, then seeded with the demo
catalog and ``--reservations`` reservations spread over the last year (each with its audit
events: held, then paid, expired or cancelled; the paid ones with a ledger payment), about 1 %
of them today, and ``--messages`` transcript lines in conversations of ten lines each over the
same year (a progress bar shows the seeding). The real app then serves a signed-in admin, one
request at a time, ``--requests`` times per page; the first five of each page are a warm-up and
not counted. Prints (and writes to ``bench/results/console.json``) p50 / p95 / max in
milliseconds per page, and the seeding time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import ClientSession, web
from sqlalchemy import insert, select
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import actions.forecasts.tables  # noqa: F401  (dropped with the rest by fresh_database)
from actions.booking.catalog import seed
from actions.booking.tables import Product, Reservation, ReservationEvent
from actions.handoff.tables import ConversationRecord, TranscriptLine
from actions.payments.tables import LedgerEntry
from actions.staff.accounts import StaffDirectory
from bot.root.app import build_runtime, create_app
from bot.root.settings import Settings
from tests.support.databases import fresh_database

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "bench" / "results" / "console.json"
PAGES = [
    "/console/today",
    "/console/conversations",
    "/console/conversations?page=200",
    "/console/conversations/{conversation}",
    "/console/refunds",
    "/console/refunds?gateway=stripe&kind=payment",
    "/console/alerts",
    "/console/bookings",
    "/console/bookings?name=guest%204242",
    "/console/bookings?state=cancelled&page=20",
    "/console/bookings/RSV-004242",
    "/console/staff",
]
BATCH = 5_000
LINES_PER_CONVERSATION = 10
WARM_UP = 5


async def seed_books(url: str, count: int, messages: int, now: datetime) -> float:
    started = time.perf_counter()
    database = await fresh_database(url)
    await seed(database, now.date())
    async with database.session() as session:
        product = (await session.scalars(select(Product))).first()
        assert product is not None
        product_id, property_id = product.id, product.property_id
    generator = random.Random(19)
    for start in tqdm(range(0, count, BATCH), desc="reservations", unit="batch"):
        reservations, events, ledger = [], [], []
        for number in range(start, min(start + BATCH, count)):
            today = generator.random() < 0.01
            made = now - timedelta(minutes=generator.randrange(600 if today else 525_600))
            state = generator.choice(("confirmed", "confirmed", "expired", "cancelled"))
            code = f"RSV-{number:06d}"  # a code as the Bookings page reads one
            check_in = (made + timedelta(days=generator.randrange(1, 120))).date()
            reservations.append(
                {
                    "id": number + 1, "code": code, "property_id": property_id,
                    "product_id": product_id, "checkin": check_in,
                    "checkout": check_in + timedelta(days=2), "units": 1, "adults": 2,
                    "children": 0, "guest_name": f"Guest {number}",
                    "email": f"guest{number}@example.com", "phone": None, "channel": "web",
                    "conversation_id": f"bench-{number}", "locale": "pt_BR", "state": state,
                    "currency": "BRL", "total": 50_000, "quote": {}, "hold_expires_at": None,
                    "refund_due": None, "created_at": made, "updated_at": made,
                }
            )  # fmt: skip
            changed = made + timedelta(minutes=10)
            for from_state, to_state, at in ((None, "held", made), ("held", state, changed)):
                events.append(
                    {"reservation_id": number + 1, "at": at, "from_state": from_state,
                     "to_state": to_state, "actor": "bench", "note": None}
                )  # fmt: skip
            if state == "confirmed":
                ledger.append(
                    {"reservation_code": code, "payment_id": number + 1, "refund_id": None,
                     "kind": "payment", "gateway": generator.choice(("stripe", "sandbox")),
                     "gateway_reference": code, "amount": 50_000, "currency": "BRL",
                     "idempotency_key": code, "details": {}, "at": changed}
                )  # fmt: skip
        async with database.session() as session:
            await session.execute(insert(Reservation.__table__), reservations)
            await session.execute(insert(ReservationEvent.__table__), events)
            if ledger:
                await session.execute(insert(LedgerEntry.__table__), ledger)
    conversations = messages // LINES_PER_CONVERSATION
    per_batch = BATCH // LINES_PER_CONVERSATION
    for start in tqdm(range(0, conversations, per_batch), desc="conversations", unit="batch"):
        records, lines = [], []
        for number in range(start, min(start + per_batch, conversations)):
            began = now - timedelta(minutes=generator.randrange(525_600))
            records.append(
                {"id": number + 1, "channel": generator.choice(("web", "telegram", "whatsapp")),
                 "conversation_id": f"bench-{number}", "locale": "pt_BR", "started_at": began,
                 "last_at": began + timedelta(minutes=LINES_PER_CONVERSATION),
                 "last_role": "bot", "last_text": "De nada!", "lines": LINES_PER_CONVERSATION}
            )  # fmt: skip
            for line in range(LINES_PER_CONVERSATION):
                lines.append(
                    {"conversation": number + 1, "at": began + timedelta(minutes=line),
                     "role": "guest" if line % 2 == 0 else "bot", "author": None,
                     "text": "tem vaga pro réveillon?" if line % 2 == 0 else "Temos, sim!"}
                )  # fmt: skip
        async with database.session() as session:
            await session.execute(insert(ConversationRecord.__table__), records)
            await session.execute(insert(TranscriptLine.__table__), lines)
    await database.close()
    return time.perf_counter() - started


async def measure(url: str, requests: int, conversation: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            _env_file=None,
            database_url=url,
            data_dir=Path(data),
            models_dir=ROOT / "data" / "models",
            secret_key="bench-console",
            # The year seeded stays whole: the retention purge (at start) would trim it.
            privacy={"retention_days": 3650},
        )
        runtime = build_runtime(settings)
        runner = web.AppRunner(create_app(settings, runtime))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            directory = runtime.services.get(StaffDirectory)
            await directory.add("bench@example.com", "admin", "bench")
            one_time = await directory.reset_password("bench@example.com", "bench")
            account = await directory.authenticate("bench@example.com", one_time)
            assert account is not None
            await directory.change_password(account.id, "bench password 123", None)
            token = await directory.start_session(account, None)
            results = {}
            async with ClientSession(cookies={"rsv_console": token}) as http:
                for page in (page.format(conversation=conversation) for page in PAGES):
                    times = []
                    for _ in range(requests + WARM_UP):
                        started = time.perf_counter()
                        async with http.get(base + page, allow_redirects=False) as answer:
                            await answer.read()
                            assert answer.status == 200, (page, answer.status)
                        times.append((time.perf_counter() - started) * 1000)
                    counted = sorted(times[WARM_UP:])
                    results[page] = {
                        "p50_ms": round(statistics.median(counted), 1),
                        "p95_ms": round(counted[int(len(counted) * 0.95) - 1], 1),
                        "max_ms": round(counted[-1], 1),
                    }
        finally:
            await runner.cleanup()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reservations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    arguments = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        sys.exit("bench/console.py: set DATABASE_URL to a PostgreSQL database it may drop")
    seeding = await seed_books(url, arguments.reservations, arguments.messages, datetime.now(UTC))
    middle = max(1, arguments.messages // LINES_PER_CONVERSATION // 2)
    results = await measure(url, arguments.requests, middle)
    report = {
        "reservations": arguments.reservations,
        "messages": arguments.messages,
        "requests_per_page": arguments.requests,
        "seed_seconds": round(seeding, 1),
        "pages": results,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        f"{arguments.reservations:,} reservations and {arguments.messages:,} messages seeded"
        f" in {seeding:.1f} s"
    )
    print("| page | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
    for page, figures in results.items():
        print(f"| `{page}` | {figures['p50_ms']} | {figures['p95_ms']} | {figures['max_ms']} |")


if __name__ == "__main__":
    asyncio.run(main())
