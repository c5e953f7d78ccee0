"""Provider-safe delivery: pacing per destination and overall, retries on 429/5xx, bounded
failure, unreachable chats; the real aiogram client against the local Bot API server.

Limits are scaled down (milliseconds instead of a second) so the tests stay quick; the pacing
is proven on the arrival times the fake server records.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest
from redis.asyncio import Redis

from bot.core.payloads import PayloadStore
from bot.core.types import Reply
from bot.outbound.delivery import Pace, UnreachableStore
from bot.stores.memory import MemoryValueStore
from bot.stores.redis import RedisValueStore
from tests.support.delivery_line import LineFactory


def replies(count: int, prefix: str = "m") -> list[Reply]:
    return [Reply(f"{prefix}{number}") for number in range(count)]


async def test_a_flood_of_200_to_one_chat_is_paced_and_none_is_lost(
    line: LineFactory,
) -> None:
    interval = 0.005  # the 1 s per chat of Telegram, scaled down 200 times
    paced = line(Pace(per_destination_seconds=interval, overall_per_second=None))
    assert await paced.queue.put("3001", replies(200))
    await paced.queue.join()
    calls = paced.fake.sent("sendMessage", "3001")
    assert [call.params["text"] for call in calls] == [f"m{n}" for n in range(200)], "in order"
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
    assert min(gaps) >= interval * 0.99, min(gaps)
    assert calls[-1].at - calls[0].at >= 199 * interval * 0.95
    assert paced.count("sent") == 200


async def test_the_overall_rate_holds_across_chats(line: LineFactory) -> None:
    rate = 1000.0  # Telegram's 30 per second, scaled up
    paced = line(Pace(per_destination_seconds=0.0, overall_per_second=rate))
    for chat in range(10):
        await paced.queue.put(str(4000 + chat), replies(20))
    await paced.queue.join()
    calls = paced.fake.sent("sendMessage")
    assert len(calls) == 200
    assert calls[-1].at - calls[0].at >= 199 / rate * 0.95
    for chat in range(10):
        texts = [call.params["text"] for call in paced.fake.sent("sendMessage", str(4000 + chat))]
        assert texts == [f"m{n}" for n in range(20)]


async def test_429_and_500_are_retried_honouring_retry_after(
    line: LineFactory,
) -> None:
    paced = line(Pace(0.0, backoff_seconds=0.01, max_attempts=4))
    paced.fake.fail("sendMessage", 429)
    paced.fake.fail("sendMessage", 500, times=2)
    started = asyncio.get_running_loop().time()
    await paced.queue.put("3002", replies(2))
    await paced.queue.join()
    assert paced.fake.texts("3002") == ["m0", "m1"]
    assert asyncio.get_running_loop().time() - started >= 1.0, "Telegram's retry_after: 1"
    assert paced.retries() == 3
    assert paced.throttled() == 1, "only the 429 asked the bot to wait"
    assert paced.count("sent") == 2


async def test_a_provider_down_too_long_is_a_counted_failure_and_the_queue_goes_on(
    line: LineFactory,
) -> None:
    paced = line(Pace(0.0, backoff_seconds=0.01, max_attempts=3))
    paced.fake.fail("sendMessage", 502, times=3)
    await paced.queue.put("3003", replies(2))
    await paced.queue.join()
    assert paced.fake.texts("3003") == ["m1"]
    assert paced.count("failed") == 1
    assert paced.retries() == 3


async def test_a_chat_that_blocked_the_bot_is_unreachable_until_it_writes_again(
    line: LineFactory,
) -> None:
    paced = line(Pace(0.0))
    paced.fake.blocked.add("3004")
    assert await paced.queue.put("3004", replies(3))
    await paced.queue.join()
    assert paced.count("unreachable") == 1
    assert paced.count("skipped") == 2
    assert not await paced.queue.put("3004", replies(1)), "later sends are skipped"
    assert paced.count("skipped") == 3
    paced.fake.blocked.clear()
    await paced.queue.reachable_again("3004")
    assert await paced.queue.put("3004", replies(1, "again"))
    await paced.queue.join()
    assert paced.fake.texts("3004") == ["again0"]


async def test_a_reply_is_sent_at_once_with_the_same_retries(
    line: LineFactory,
) -> None:
    paced = line(Pace(10.0, backoff_seconds=0.01))
    paced.fake.fail("sendMessage", 500)
    assert await paced.queue.send_now("3005", Reply("a"))
    assert await paced.queue.send_now("3005", Reply("b")), "replies are not paced"
    assert paced.fake.texts("3005") == ["a", "b"]


# -- the stores, in memory and in Redis ---------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def stores(request: pytest.FixtureRequest) -> tuple[PayloadStore, UnreachableStore]:
    """In process, then on Redis (the ``redis`` fixture only for that run)."""
    if request.param == "redis":
        redis: Redis = request.getfixturevalue("redis")
        values: MemoryValueStore | RedisValueStore = RedisValueStore(redis)
    else:
        values = MemoryValueStore()
    return PayloadStore(values), UnreachableStore(values)


async def test_long_payloads_get_stable_short_keys(
    stores: tuple[PayloadStore, UnreachableStore],
) -> None:
    payloads, _ = stores
    short = "intent:faq|topic=wifi"
    assert await payloads.shorten(short, 64) == short
    long = "intent:refund_approve|id=123456789|reason=guest_asked_twice|property=pousada-do-mar"
    key = await payloads.shorten(long, 64)
    assert len(key.encode()) <= 64
    assert key == await payloads.shorten(long, 64), "one key per payload"
    assert await payloads.expand(key) == long
    assert await payloads.expand(short) == short
    assert await payloads.expand("~nosuchkey") is None
    tilde = "~looks-like-a-key"
    assert await payloads.expand(await payloads.shorten(tilde, 64)) == tilde


async def test_unreachable_marks_are_kept_and_cleared(
    stores: tuple[PayloadStore, UnreachableStore],
) -> None:
    _, unreachable = stores
    assert not await unreachable.is_marked("telegram:1")
    await unreachable.mark("telegram:1")
    assert await unreachable.is_marked("telegram:1")
    assert not await unreachable.is_marked("telegram:2")
    await unreachable.clear("telegram:1")
    assert not await unreachable.is_marked("telegram:1")
