"""What a conversation's turn costs Redis itself: the commands it runs and its CPU per turn.

    redis-server --port 7190 --save "" --appendonly no --daemonize yes
    .venv/bin/python bench/redis_turn.py --redis-url redis://127.0.0.1:7190   # about 10 s

Redis is what every worker shares, so its work per turn bounds what more workers add. This
drives turns through the bot's own ``RedisConversationOrder`` as a REST turn takes them (the
message counted in its user's window, as ``bench/ratelimits.yaml`` has it, the delivery
remembered, the session carried and kept, the handoff link read), conversations in
parallel, and reads the server's ``INFO`` before and after: ``commandstats`` (every command
run, a script's own calls included) and ``used_cpu_user`` + ``used_cpu_sys``. Use a server of
its own: both are counted over the whole server. The CPU moves with the machine; for an exact
comparison between commits count the server's instructions instead:

    valgrind --tool=callgrind --callgrind-out-file=/tmp/turn.cg redis-server --port 7191 --save ""
    .venv/bin/python bench/redis_turn.py --redis-url redis://127.0.0.1:7191 --turns 100
    redis-cli -p 7191 shutdown nosave; callgrind_annotate --inclusive=yes /tmp/turn.cg | grep aeMain

(run the commit under test from a worktree with ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from typing import Any

import uvloop
from redis.asyncio import Redis

from actions.handoff.store import guest_handoff_key
from bot.stores import keys
from bot.stores.base import Counted, Delivery
from bot.stores.redis import RedisConversationOrder

SESSION = "x" * 400  # a session of a few turns, as orjson writes it


def window_of(conversation: str) -> Counted:
    """The guest's messages, counted as ``bench/ratelimits.yaml`` counts them."""
    return Counted(keys.message_window(conversation, "guest", 100_000, 1), 100_000, 1)


async def server_state(client: Redis) -> tuple[Counter[str], float]:
    stats: dict[str, Any] = await client.info("commandstats")
    cpu: dict[str, Any] = await client.info("cpu")
    calls = Counter({name.removeprefix("cmdstat_"): int(s["calls"]) for name, s in stats.items()})
    return calls, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


async def converse(order: RedisConversationOrder, number: int, phase: str, turns: int) -> None:
    conversation = f"rest:bench-turn-{number}"
    link = guest_handoff_key(conversation)
    for turn in range(turns):
        delivery = Delivery(keys.dedupe(conversation, f"{phase}-{turn}"), 600)
        async with order.turn(
            conversation, keys.session(conversation), [link], delivery, window_of(conversation)
        ) as held:
            held.keep(SESSION, 3600)


async def main(url: str, conversations: int, turns: int) -> None:
    client = Redis.from_url(url)
    order = RedisConversationOrder(client, lease_seconds=5.0, max_wait_seconds=5.0)
    await asyncio.gather(*(converse(order, n, "warm", 10) for n in range(conversations)))
    before, cpu_before = await server_state(client)
    started = time.perf_counter()
    await asyncio.gather(*(converse(order, n, "measured", turns) for n in range(conversations)))
    elapsed = time.perf_counter() - started
    after, cpu_after = await server_state(client)
    ran = after - before
    ran.pop("info", None)
    total = conversations * turns
    await client.flushdb()
    await client.aclose()
    print(f"{total:,} turns in {elapsed:.1f} s ({total / elapsed:,.0f} a second)")
    print(f"Redis CPU per turn: {(cpu_after - cpu_before) / total * 1e6:.1f} µs")
    print("commands per turn: " + ", ".join(f"{n} {c / total:g}" for n, c in ran.most_common()))


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:7190", help="a server of its own")
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--turns", type=int, default=1000, help="per conversation")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_arguments(sys.argv[1:])
    uvloop.run(main(arguments.redis_url, arguments.conversations, arguments.turns))
