"""CPU per Redis round trip through redis-py, as the bot builds its client and as it could.

    .venv/bin/python bench/redis_calls.py                       # about 30 s
    taskset -c 1 .venv/bin/python bench/redis_calls.py --rounds 3

A turn on the Redis stores makes five round trips; this measures what one costs the server's
process (``time.process_time`` over ``GET`` calls of one small key, on uvloop, after a warm-up
pass), one caller at a time and 100 callers at once (the load benchmark's closed loop), for:

* the bot's client (``bot.root.app.redis_clients``: redis-py's blocking pool, its default
  5 s socket timeout, which wraps each write in ``asyncio.wait_for``, and the outage riding);
* the same without the socket timeout;
* the same with redis-py's plain (non-blocking) pool;
* redis-py's client without the outage riding.

Rounds alternate the variants, because the machine's speed drifts from minute to minute.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable, Iterator

import uvloop
from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis

from bot.stores.redis import OutageRidingRedis

CONNECTIONS = 200  # the bot's default RSV_REDIS_MAX_CONNECTIONS
Make = Callable[[str], Redis]


def variants() -> Iterator[tuple[str, Make]]:
    def pool(url: str, **options: object) -> BlockingConnectionPool:
        return BlockingConnectionPool.from_url(
            url, max_connections=CONNECTIONS, timeout=10, **options
        )

    yield "the bot's client", lambda url: OutageRidingRedis(connection_pool=pool(url))
    yield (
        "without the socket timeout",
        lambda url: OutageRidingRedis(connection_pool=pool(url, socket_timeout=None)),
    )
    yield (
        "plain pool",
        lambda url: OutageRidingRedis(
            connection_pool=ConnectionPool.from_url(url, max_connections=CONNECTIONS)
        ),
    )
    yield "without the outage riding", lambda url: Redis(connection_pool=pool(url))


async def per_call(client: Redis, callers: int, calls: int) -> float:
    """Microseconds of this process's CPU per ``GET``."""

    async def caller() -> None:
        for _ in range(calls):
            await client.get("rsv:bench:redis_calls")

    await asyncio.gather(*(caller() for _ in range(callers)))  # connections made, code warm
    started = time.process_time()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return (time.process_time() - started) / (callers * calls) * 1e6


async def main(url: str, rounds: int) -> None:
    print("| variant | round | one caller µs/call | 100 callers µs/call |")
    print("|---|--:|--:|--:|")
    for number in range(1, rounds + 1):
        for name, make in variants():
            client = make(url)
            await client.set("rsv:bench:redis_calls", "x")
            alone = await per_call(client, 1, 5_000)
            together = await per_call(client, 100, 100)
            await client.delete("rsv:bench:redis_calls")
            await client.aclose()
            print(f"| {name} | {number} | {alone:.0f} | {together:.0f} |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    uvloop.run(main(arguments.redis_url, arguments.rounds))
