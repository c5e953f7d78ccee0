"""The durable outbox: provider chats' messages in Redis, drained by jobs on the Redis stream,
through the real aiogram client to the local Bot API server. Several lines on one Redis are
several processes."""

from __future__ import annotations

import asyncio
import itertools

from bot.core.types import Reply
from bot.outbound.delivery import Pace
from bot.stores import keys
from tests.support.durable_line import DurableLines
from tests.support.waiting import until


def replies(count: int, prefix: str = "m") -> list[Reply]:
    return [Reply(f"{prefix}{number}") for number in range(count)]


async def test_each_chat_gets_its_messages_in_order_and_paced(
    durable_lines: DurableLines,
) -> None:
    interval = 0.02
    line = await durable_lines.make(Pace(per_destination_seconds=interval))
    fake = durable_lines.fake
    for chat in ("5001", "5002", "5003"):
        assert await line.outbox.put(chat, replies(15, prefix=f"{chat}-"))
    await until(lambda: len(fake.sent()) == 45)
    await line.outbox.join()  # the last send is counted after the provider answered it
    for chat in ("5001", "5002", "5003"):
        calls = fake.sent("sendMessage", chat)
        assert [call.params["text"] for call in calls] == [f"{chat}-{n}" for n in range(15)]
        gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
        assert min(gaps) >= interval * 0.95, min(gaps)
    assert line.count("sent") == 45
    assert await line.outbox.waiting("5001") == 0


async def test_two_processes_share_a_chat_without_doubling_or_outpacing(
    durable_lines: DurableLines,
) -> None:
    interval = 0.02
    first = await durable_lines.make(Pace(per_destination_seconds=interval))
    second = await durable_lines.make(Pace(per_destination_seconds=interval))
    for batch in range(10):
        line = first if batch % 2 == 0 else second
        await line.outbox.put("5010", replies(3, prefix=f"b{batch}-"))
    fake = durable_lines.fake
    await until(lambda: len(fake.sent()) == 30)
    await asyncio.sleep(0.5)  # a doubled message would have arrived by now
    texts = fake.texts("5010")
    assert texts == [f"b{batch}-{n}" for batch in range(10) for n in range(3)]
    calls = fake.sent("sendMessage", "5010")
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
    assert min(gaps) >= interval * 0.95, "the chat's pace holds across processes"
    assert first.count("sent") + second.count("sent") == 30


async def test_a_blocked_chat_drops_its_queue_and_refuses_more(
    durable_lines: DurableLines,
) -> None:
    line = await durable_lines.make(Pace(per_destination_seconds=0.0))
    durable_lines.fake.blocked.add("5020")
    assert await line.outbox.put("5020", replies(5))
    await until(lambda: line.count("unreachable") == 1)
    await until(lambda: line.count("skipped") == 4)
    assert await line.outbox.waiting("5020") == 0
    assert not await line.outbox.put("5020", replies(1)), "unreachable until they write again"
    await line.outbox.reachable_again("5020")
    durable_lines.fake.blocked.clear()
    assert await line.outbox.put("5020", [Reply("back")])
    await until(lambda: durable_lines.fake.texts("5020") == ["back"])


async def test_a_message_that_does_not_read_is_dropped_and_the_rest_go_out(
    durable_lines: DurableLines, redis: object
) -> None:
    line = await durable_lines.make(Pace(per_destination_seconds=0.0), work=False)
    await line.outbox.put("5030", [Reply("before")])
    await line.jobs.close()
    raw = line.outbox._redis
    await raw.rpush(keys.outbox("telegram:5030"), b"\xff not json")
    worker = await durable_lines.make(Pace(per_destination_seconds=0.0))
    await worker.outbox.put("5030", [Reply("after")])
    await until(lambda: durable_lines.fake.texts("5030") == ["before", "after"])
    failures = worker.metrics.registry.get_sample_value(
        "rsv_loop_item_failures_total", {"loop": "delivery"}
    )
    assert failures == 1
