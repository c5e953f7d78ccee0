"""Benchmark of payment confirmations: signed Stripe webhooks in, confirmations out.

One worker (one process, one event loop) runs the real application (``bot.root.app.create_app``)
on loopback with PostgreSQL, Stripe pointed at the local fake of ``tests/fakes/stripe.py``. The
script:

1. migrates an empty schema in its own database (``rsv360_bench_payments``, created when
   missing; loopback only) and seeds the demo catalog;
2. places ``--payments`` holds (one night each, spread over the demo's room types and days)
   and asks the payment service for a Stripe link for each (a Checkout Session at the fake);
3. marks every session paid at the fake and sends its ``checkout.session.completed`` webhook,
   signed, to ``POST /webhooks/payments/stripe`` with ``--concurrency`` requests in flight;
   ``--duplicates`` of them are delivered twice, as providers retry;
4. waits until every reservation is confirmed, and checks that each guest heard exactly one
   confirmation and the ledger holds exactly one row per payment.

Each confirmation is the whole path: verify the signature, store the event, answer 200, then
in the background fetch the session from the (fake) Stripe API, lock and update the payment,
write the ledger, confirm the reservation and push the message through the Notifier.

    .venv/bin/python bench/payments.py                      # 1000 payments, about 1 minute
    .venv/bin/python bench/payments.py --payments 500 --rate 25   # paced, 3x the 500/min goal
    .venv/bin/python bench/payments.py --payments 200 --concurrency 20

A Markdown table goes to stdout and JSON to bench/results/payments.json; progress to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from booking import check_loopback, drop_tables, ensure_postgresql_database
from figures import summary
from sqlalchemy import func, select
from tqdm import tqdm

from actions.booking.holds import Holds
from actions.booking.reservations import Reservations
from actions.payments.service import PaymentService
from actions.payments.webhooks import WebhookInbox

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actions.booking.errors import StayTooShort, Unavailable
from actions.booking.holds import Guest
from actions.booking.tables import Product
from actions.payments.tables import LedgerEntry
from bot.core.observability import configure_logging
from bot.core.types import Address, Reply
from bot.root.app import build_runtime, create_app
from bot.root.settings import Settings
from bot.stores import migrations
from bot.stores.database import Database
from tests.fakes.stripe import FakeStripe

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/rsv360_bench_payments"
RESULTS = Path(__file__).resolve().parent / "results" / "payments.json"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def prepare(url: str) -> None:
    check_loopback(url)
    await ensure_postgresql_database(url)
    database = Database(url)
    try:
        await drop_tables(database)
        await migrations.upgrade(database)
    finally:
        await database.close()


async def run(arguments: argparse.Namespace) -> dict[str, Any]:
    await prepare(arguments.postgresql_url)
    stripe = await FakeStripe().start()
    data_dir = Path(tempfile.mkdtemp(prefix="rsv-bench-payments-"))
    settings = Settings(
        _env_file=None,
        data_dir=data_dir,
        models_dir=arguments.models_dir,
        secret_key="bench-secret",
        database_url=arguments.postgresql_url,
        hold_minutes=60,
        log_level="WARNING",
        stripe={
            "api_key": "sk_test_bench",
            "webhook_secret": stripe.webhook_secret,
            "api_base": stripe.url,
        },
        payment={"routes": ["BRL=stripe"]},
    )
    runtime = build_runtime(settings)
    server = TestServer(create_app(settings, runtime), host="127.0.0.1")
    await server.start_server()
    confirmed_at: dict[str, float] = {}
    confirmations: dict[str, int] = {}

    async def deliver(address: Address, replies: Any) -> bool:
        for reply in replies:
            if isinstance(reply, Reply) and "confirm" in reply.text.lower():
                confirmations[address.conversation_id] = (
                    confirmations.get(address.conversation_id, 0) + 1
                )
                confirmed_at.setdefault(address.conversation_id, time.perf_counter())
        return True

    runtime.notifier.register("bench", deliver)
    try:
        sessions = await place_and_link(runtime, stripe, arguments.payments)
        bodies = []
        for conversation, session_id in sessions:
            stripe.pay(session_id)
            body = stripe.event("checkout.session.completed", session_id)
            bodies.append((conversation, body))
        repeats = random.Random(7).sample(bodies, int(len(bodies) * arguments.duplicates))
        deliveries = bodies + repeats
        random.Random(8).shuffle(deliveries)
        sent_at: dict[str, float] = {}
        acks: list[float] = []
        semaphore = asyncio.Semaphore(arguments.concurrency)
        url = str(server.make_url("/webhooks/payments/stripe"))
        bar = tqdm(total=len(deliveries), desc="webhooks", unit="req", file=sys.stderr)
        async with aiohttp.ClientSession() as client:

            async def send(index: int, conversation: str, body: bytes) -> None:
                if arguments.rate:  # paced: the i-th delivery leaves at i / rate seconds
                    await asyncio.sleep(
                        max(0.0, began + index / arguments.rate - time.perf_counter())
                    )
                async with semaphore:
                    started = time.perf_counter()
                    sent_at.setdefault(conversation, started)
                    headers = {"Stripe-Signature": stripe.sign(body)}
                    async with client.post(url, data=body, headers=headers) as response:
                        assert response.status == 200, response.status
                    acks.append((time.perf_counter() - started) * 1000)
                    bar.update()

            began = time.perf_counter()
            await asyncio.gather(*(send(i, c, b) for i, (c, b) in enumerate(deliveries)))
            bar.close()
            await runtime.services.get(WebhookInbox).drain()
        finished = max(confirmed_at.values(), default=time.perf_counter())
        elapsed = finished - began
        latencies = [(confirmed_at[c] - sent_at[c]) * 1000 for c in confirmed_at]
        async with runtime.database.session() as session:
            ledger_rows = await session.scalar(select(func.count()).select_from(LedgerEntry))
        registry = runtime.metrics.registry
        labels = {"gateway": "stripe", "operation": "status"}
        calls = registry.get_sample_value("rsv_payment_gateway_seconds_count", labels) or 1
        spent = registry.get_sample_value("rsv_payment_gateway_seconds_sum", labels) or 0
        return {
            "gateway_status_mean_ms": round(spent / calls * 1000, 1),
            "payments": len(sessions),
            "deliveries": len(deliveries),
            "concurrency": arguments.concurrency,
            "rate": arguments.rate or "unpaced",
            "confirmed": len(confirmed_at),
            "confirmations_sent": sum(confirmations.values()),
            "ledger_rows": ledger_rows,
            "seconds": round(elapsed, 3),
            "confirmations_per_second": round(len(confirmed_at) / elapsed, 1),
            "ack_ms": _rounded(summary(acks)),
            "confirmation_ms": _rounded(summary(latencies)),
        }
    finally:
        await server.close()
        await stripe.close()


async def place_and_link(runtime: Any, stripe: FakeStripe, count: int) -> list[tuple[str, str]]:
    """Holds on distinct room-days, each with a Stripe link: (conversation, session id)."""
    async with runtime.database.session() as session:
        products = list(await session.scalars(select(Product).where(Product.kind == "room")))
    today = datetime.now(UTC).date()
    made: list[tuple[str, str]] = []
    bar = tqdm(total=count, desc="holds and links", unit="hold", file=sys.stderr)
    day = 20
    while len(made) < count and day < 360:
        for product in products:
            if len(made) == count:
                break
            conversation = f"c{len(made)}"
            check_in = today + timedelta(days=day)
            try:
                reservation = await runtime.services.get(Holds).hold(
                    product.id,
                    check_in,
                    check_in + timedelta(days=1),
                    1,
                    0,
                    Guest("Bench Guest", "bench@example.com"),
                    "bench",
                    conversation,
                    "pt_BR",
                    actor="bench",
                )
            except (StayTooShort, Unavailable):
                continue
            reservation = await runtime.services.get(Reservations).begin_payment(
                reservation.code, "bench"
            )
            link = await runtime.services.get(PaymentService).link_for(reservation, "stripe")
            made.append((conversation, link.reference))
            bar.update()
        day += 1
    bar.close()
    return made


def _rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="webhooks per second (0: as fast as the concurrency allows)",
    )
    parser.add_argument(
        "--duplicates", type=float, default=0.1, help="share of webhooks delivered twice"
    )
    parser.add_argument(
        "--postgresql-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--models-dir", type=Path, default=Path("data/models"))
    arguments = parser.parse_args()
    configure_logging("console", "WARNING")
    result = asyncio.run(run(arguments))
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    ack, confirmation = result["ack_ms"], result["confirmation_ms"]
    print(
        "| payments | deliveries | offered rate | confirmations/s | ack p50 / p99 ms "
        "| confirmation p50 / p99 ms | one confirmation each | ledger rows |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {result['payments']} | {result['deliveries']} | {result['rate']} "
        f"| {result['confirmations_per_second']} | {ack['p50_ms']} / {ack['p99_ms']} "
        f"| {confirmation['p50_ms']} / {confirmation['p99_ms']} "
        f"| {result['confirmations_sent'] == result['payments']} "
        f"| {result['ledger_rows']} |"
    )


if __name__ == "__main__":
    main()
