"""One message at a time per conversation, in arrival order, in one process and across several."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Connection, ConnectionPool, Redis, RedisCluster

from bot.stores import keys
from bot.stores.base import (
    ConversationOrder,
    Counted,
    Delivery,
    OverLimit,
    Redelivered,
    TurnTimeout,
)
from bot.stores.memory import MemoryConversationOrder, MemoryValueStore
from bot.stores.redis import RedisConversationOrder
from tests.support.redis_servers import RedisClusterServers, RedisServer
from tests.support.services import REDIS_URL


class OrderFactory:
    """Makes order instances; on Redis and on the Redis Cluster each has its own client, like
    separate processes. ``peek`` is a client of the same backend for the tests to look in."""

    def __init__(
        self, backend: str, servers: RedisClusterServers | None, spare: list[RedisCluster]
    ) -> None:
        self.backend = backend
        self.servers = servers
        self.spare = spare
        self.clients: list[Redis | RedisCluster] = []
        self.shared_memory: dict[float, MemoryConversationOrder] = {}
        self.memory_values = MemoryValueStore(time.monotonic)
        self.peek = self._client() if backend != "memory" else None

    def __call__(self, lease: float = 5.0, max_wait: float = 5.0) -> ConversationOrder:
        if self.backend == "memory":
            return self.shared_memory.setdefault(
                max_wait, MemoryConversationOrder(max_wait, self.memory_values)
            )
        return RedisConversationOrder(
            self._client(), lease_seconds=lease, max_wait_seconds=max_wait
        )

    def _client(self) -> Redis | RedisCluster:
        client = self.spare.pop() if self.servers is not None else Redis.from_url(REDIS_URL)
        self.clients.append(client)
        return client


@pytest.fixture(params=["memory", "redis", "cluster"])
async def make_order(request: pytest.FixtureRequest, redis: Redis) -> AsyncIterator[OrderFactory]:
    """Order factories in process, on Redis and on the Redis Cluster (emptied first)."""
    servers: RedisClusterServers | None = None
    spare: list[RedisCluster] = []
    if request.param == "cluster":
        servers = request.getfixturevalue("cluster_servers")
        await servers.wait_until_ok()
        await servers.flush()
        spare = await servers.started_clients(3)  # the peek and two instances
    factory = OrderFactory(request.param, servers, spare)
    yield factory
    for client in factory.clients + spare:
        await client.aclose()


async def test_turns_run_one_at_a_time_in_arrival_order(make_order: OrderFactory) -> None:
    instances = [make_order(), make_order()]
    handled: list[int] = []
    running = 0
    most_running = 0
    first_may_finish = asyncio.Event()
    entered = asyncio.Event()

    async def one_turn(index: int) -> None:
        nonlocal running, most_running
        async with instances[index % 2].turn("web:c1"):
            running += 1
            most_running = max(most_running, running)
            entered.set()
            if index == 0:
                await first_may_finish.wait()
            await asyncio.sleep(0.001)
            handled.append(index)
            running -= 1

    tasks = [asyncio.create_task(one_turn(0))]
    await asyncio.wait_for(entered.wait(), 5)
    for index in range(1, 50):
        tasks.append(asyncio.create_task(one_turn(index)))
        await _until_waiting(make_order.peek, index)
    first_may_finish.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 20)

    assert handled == list(range(50))
    assert most_running == 1


async def test_a_turn_carries_the_conversations_session_kept_by_the_turn_before(
    make_order: OrderFactory,
) -> None:
    first, second = make_order(), make_order()
    session = keys.session("web:c1")
    async with first.turn("web:c1", session) as held:
        assert held.carried is None
        held.keep("one", 60)
    async with second.turn("web:c1", session) as held:
        assert held.carried == "one"  # and nothing kept: it stays
    if make_order.peek is not None:
        assert 59_000 < await make_order.peek.pttl(session) <= 60_000

    holder_may_finish = asyncio.Event()

    async def holder() -> None:
        async with first.turn("web:c1", session) as held:
            await holder_may_finish.wait()
            held.keep("two", 60)

    holding = asyncio.create_task(holder())
    await asyncio.sleep(0.05)
    waiting = asyncio.create_task(_carried_by_next_turn(second, session))
    await _until_waiting(make_order.peek, 1)
    holder_may_finish.set()
    await holding
    assert await asyncio.wait_for(waiting, 5) == "two"  # read when taken, not when queued

    with pytest.raises(RuntimeError):
        async with first.turn("web:c1", session):
            raise RuntimeError("the turn failed: its session is not written")
    async with second.turn("web:c1", session) as held:
        assert held.carried == "two"
        held.keep(None, 60)  # the guest asked to be forgotten
    async with first.turn("web:c1", session) as held:
        assert held.carried is None


async def test_a_delivery_takes_a_turn_once_and_its_redelivery_is_refused_without_waiting(
    make_order: OrderFactory,
) -> None:
    first, second = make_order(), make_order()
    delivery = Delivery(keys.dedupe("web:c5", "m1"), 600)
    release = asyncio.Event()
    holding = await _holding(first, "web:c5", release, delivery)
    # The holder never lets go until released: waiting for the turn would end in TurnTimeout.
    with pytest.raises(Redelivered):
        async with second.turn("web:c5", delivery=delivery):
            pass
    if make_order.peek is not None:
        assert await make_order.peek.llen(keys.order_queue("web:c5")) == 1
        assert 599_000 < await make_order.peek.pttl(delivery.key) <= 600_000
    later = asyncio.create_task(_take(second, "web:c5", Delivery(keys.dedupe("web:c5", "m2"), 600)))
    release.set()
    await asyncio.wait_for(asyncio.gather(holding, later), 3)
    with pytest.raises(Redelivered):
        await _take(first, "web:c5", delivery)
    await _take(first, "web:other", Delivery(keys.dedupe("web:other", "m1"), 600))


async def test_a_full_window_refuses_the_turn_before_it_queues_or_remembers_the_delivery(
    make_order: OrderFactory,
) -> None:
    """Every message counts against its user's window as the turn is asked for: past its
    amount the turn is refused at once, the first refusal of the window says so, and the
    refused message neither waits in the queue nor counts as delivered."""
    first, second = make_order(), make_order()
    window = _window("web:c9", "guest", 2, 60)
    await _take(first, "web:c9", counted=window)
    await _take(second, "web:c9", counted=window)
    release = asyncio.Event()
    holding = await _holding(first, "web:c9", release)
    delivery = Delivery(keys.dedupe("web:c9", "m3"), 600)
    with pytest.raises(OverLimit) as refused:
        await _take(second, "web:c9", delivery, window)  # would wait behind the holder
    assert refused.value.first
    assert 30 < refused.value.retry_after <= 60  # the span, less a stalled moment at most
    with pytest.raises(OverLimit) as again:
        await _take(first, "web:c9", counted=window)
    assert not again.value.first
    if make_order.peek is not None:
        assert await make_order.peek.llen(keys.order_queue("web:c9")) == 1
        assert 30_000 < await make_order.peek.pttl(window.key) <= 60_000
    release.set()
    await asyncio.wait_for(holding, 3)
    await _take(second, "web:c9", delivery)  # not refused as a re-delivery
    other = _window("web:c9", "another guest", 2, 60)
    await _take(second, "web:c9", counted=other)


async def test_a_window_keeps_no_more_times_than_its_amount(make_order: OrderFactory) -> None:
    """Times older than the window's span no longer count, and the list never holds more than
    the amount (a guest who writes steadily keeps the key alive)."""
    if make_order.peek is None:
        pytest.skip("the limits library keeps the window in process")
    order = make_order()
    window = _window("web:c10", "guest", 3, 60)
    await make_order.peek.rpush(window.key, 1_000, 2_000, 3_000)  # ms since 1970: long past
    await make_order.peek.pexpire(window.key, 60_000)
    await _take(order, "web:c10", counted=window)
    await _take(order, "web:c10", counted=window)
    stored = await make_order.peek.lrange(window.key, 0, -1)
    assert len(stored) == 3
    assert [int(time) for time in stored[2:]] == [1_000]


async def test_a_turn_reads_keys_of_its_conversation_as_it_is_taken(
    make_order: OrderFactory,
) -> None:
    order = make_order()
    session, link, unset = (
        keys.session("web:c6"),
        "rsv:handoff:{web:c6}:guest",
        "rsv:other:{web:c6}",
    )
    async with order.turn("web:c6", session) as held:
        held.keep("the session", 60)
    if make_order.peek is None:
        await make_order.memory_values.put(link, "T1", 60)
    else:
        await make_order.peek.set(link, "T1", ex=60)
    async with order.turn("web:c6", session, [link, unset]) as held:
        assert held.carried == "the session"
        assert held.read == {link: "T1", unset: None}
    async with order.turn("web:c6", reading=[unset, link]) as held:
        assert held.carried is None
        assert held.read == {unset: None, link: "T1"}


async def _carried_by_next_turn(order: ConversationOrder, session: str) -> str | None:
    async with order.turn("web:c1", session) as held:
        return held.carried


async def _until_waiting(redis: Redis | RedisCluster | None, waiting: int) -> None:
    """Wait until ``waiting`` turns queue behind the holder, so that arrival order is known."""
    if redis is None:
        await asyncio.sleep(0)  # the new turn runs first, up to the lock it then waits for
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if await redis.llen(keys.order_queue("web:c1")) - 1 >= waiting:
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"{waiting} turns never queued")


async def test_other_conversations_do_not_wait(
    make_order: OrderFactory,
) -> None:
    order = make_order()
    async with order.turn("web:busy"):
        async with asyncio.timeout(1):
            async with order.turn("web:other"):
                pass


async def test_a_turn_that_waits_too_long_is_refused_and_leaves_the_queue_working(
    make_order: OrderFactory,
) -> None:
    holder = impatient = make_order(max_wait=0.2)
    release = asyncio.Event()
    holding = await _holding(holder, "web:c2", release)
    started = time.monotonic()
    with pytest.raises(TurnTimeout):
        async with impatient.turn("web:c2"):
            pass
    assert 0.15 < time.monotonic() - started < 2

    later = asyncio.create_task(_take(holder, "web:c2"))
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.wait_for(asyncio.gather(holding, later), 3)


async def _holding(
    order: ConversationOrder, key: str, release: asyncio.Event, delivery: Delivery | None = None
) -> asyncio.Task[None]:
    """A task that holds ``key``'s turn until ``release`` is set, once it holds it."""
    held = asyncio.Event()

    async def hold() -> None:
        async with order.turn(key, delivery=delivery):
            held.set()
            await release.wait()

    holding = asyncio.create_task(hold())
    await held.wait()
    return holding


def _window(conversation: str, user: str, amount: int, seconds: int) -> Counted:
    return Counted(keys.message_window(conversation, user, amount, seconds), amount, seconds)


async def _take(
    order: ConversationOrder,
    key: str,
    delivery: Delivery | None = None,
    counted: Counted | None = None,
) -> None:
    async with order.turn(key, delivery=delivery, counted=counted):
        pass


async def test_a_crashed_holder_frees_the_conversation_when_its_lease_ends(redis: Redis) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from redis.asyncio import Redis
        from bot.stores.redis import RedisConversationOrder

        async def main():
            order = RedisConversationOrder(Redis.from_url({REDIS_URL!r}), 0.5, 5.0)
            async with order.turn("web:c3"):
                print("held", flush=True)
                await asyncio.sleep(3600)

        asyncio.run(main())
        """
    )
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"held"
        waiter = RedisConversationOrder(redis, lease_seconds=5.0, max_wait_seconds=0.3)
        with pytest.raises(TurnTimeout):
            await _take(waiter, "web:c3")  # the live holder keeps renewing its lease
    finally:
        holder.kill()
        await holder.wait()
    patient = RedisConversationOrder(redis, lease_seconds=5.0, max_wait_seconds=3.0)
    started = time.monotonic()
    await _take(patient, "web:c3")
    assert time.monotonic() - started < 1.5


async def test_redis_keys_expire(redis: Redis) -> None:
    order = RedisConversationOrder(redis, lease_seconds=1.0, max_wait_seconds=1.0)
    async with order.turn("web:c4"):
        assert 0 < await redis.pttl(keys.order_queue("web:c4")) <= 3000
    assert await redis.exists(keys.order_queue("web:c4")) == 0
    leftovers: list[Any] = [key async for key in redis.scan_iter(match="rsv:order:*")]
    assert leftovers == []


async def test_a_holder_working_past_its_lease_keeps_renewing_it(redis: Redis) -> None:
    holder = RedisConversationOrder(redis, lease_seconds=1.0, max_wait_seconds=1.0)
    release = asyncio.Event()
    holding = await _holding(holder, "web:c5", release)
    await asyncio.sleep(1.5)  # past the first lease: only renewals keep it
    waiter = RedisConversationOrder(redis, lease_seconds=1.0, max_wait_seconds=1.0)
    with pytest.raises(TurnTimeout):
        await _take(waiter, "web:c5")
    release.set()
    await holding
    await asyncio.wait_for(_take(waiter, "web:c5"), 2)


async def test_a_holders_ticket_lives_its_lease_and_a_waiters_the_whole_wait(redis: Redis) -> None:
    """A crashed holder is skipped once its lease ends; a waiter's ticket outlives a holder's
    lease, or the one behind it would skip it while it still waits."""
    order = RedisConversationOrder(redis, lease_seconds=1.0, max_wait_seconds=5.0)
    release = asyncio.Event()
    holding = await _holding(order, "web:c6", release)
    waiting = asyncio.create_task(_take(order, "web:c6"))
    queue = keys.order_queue("web:c6")
    async with asyncio.timeout(10):  # the waiter joins at once; a hang fails, never stalls
        while await redis.llen(queue) < 2:  # noqa: ASYNC110 - the queue lives in Redis
            await asyncio.sleep(0.01)
    holder, waiter = [ticket.decode() for ticket in await redis.lrange(queue, 0, -1)]
    assert 0 < await redis.pttl(keys.order_ticket("web:c6", holder)) <= 1_000
    assert 5_000 < await redis.pttl(keys.order_ticket("web:c6", waiter)) <= 6_000
    release.set()
    await asyncio.wait_for(asyncio.gather(holding, waiting), 3)


class CountingConnection(Connection):
    """Counts what it sends: one call per round trip (a command, a script, a pipeline)."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


async def test_a_turn_is_two_round_trips_with_its_count_delivery_session_and_reads(
    redis: Redis,
) -> None:
    """Taking the turn counts it in the guest's window, remembers the delivery and reads the
    session and the other keys; giving it back writes the session: a guest's turn costs no more
    on Redis (docs/benchmarks.md)."""
    client = Redis(
        connection_pool=ConnectionPool.from_url(REDIS_URL, connection_class=CountingConnection)
    )
    order = RedisConversationOrder(client, lease_seconds=5.0, max_wait_seconds=5.0)
    session, link = keys.session("web:c7"), "rsv:handoff:{web:c7}:guest"
    try:
        await _take(order, "web:c7", Delivery(keys.dedupe("web:c7", "warm-up"), 60))  # scripts load
        CountingConnection.sent = 0
        delivery = Delivery(keys.dedupe("web:c7", "m1"), 60)
        window = _window("web:c7", "guest", 5, 60)
        async with order.turn("web:c7", session, [link], delivery, window) as held:
            held.keep("the session", 60)
        assert CountingConnection.sent == 2
        assert await redis.llen(window.key) == 1
        with pytest.raises(Redelivered):
            await _take(order, "web:c7", delivery)
        assert CountingConnection.sent == 3
        assert await redis.get(session) == b"the session"
    finally:
        await client.aclose()


async def _commands_run(client: Redis) -> Counter[str]:
    """What the server ran, scripts' own calls included, by command (INFO commandstats)."""
    stats = await client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(s["calls"]) for name, s in stats.items()})


async def test_an_uncontended_turn_runs_thirteen_commands_inside_its_two_scripts(
    redis_node: RedisServer,
) -> None:
    """Each call a script makes costs Redis more than the command itself, and Redis is what the
    workers share (docs/benchmarks.md): a turn that finds its conversation free joins and holds
    it with one write of its ticket and reads its keys at once; counting it in its user's
    window costs four while the window is short of its amount."""
    client = Redis.from_url(redis_node.url)
    order = RedisConversationOrder(client, lease_seconds=5.0, max_wait_seconds=5.0)
    session, link = keys.session("web:c8"), "rsv:handoff:{web:c8}:guest"
    try:
        await _take(order, "web:c8", Delivery(keys.dedupe("web:c8", "warm-up"), 60))
        await client.set(session, "the session before")
        before = await _commands_run(client)
        delivery = Delivery(keys.dedupe("web:c8", "m"), 60)
        window = _window("web:c8", "guest", 5, 60)
        async with order.turn("web:c8", session, [link], delivery, window) as held:
            assert held.carried == "the session before"
            held.keep("the session after", 60)
        ran = await _commands_run(client) - before
        ran.pop("info", None)
        counting = Counter({"time": 1, "lindex": 1, "lpush": 1, "pexpire": 1})
        taking = Counter(  # the ticket, the delivery, joining, the queue's TTL, the reads
            {"evalsha": 1, "set": 2, "rpush": 1, "pexpire": 1, "mget": 1}
        )
        leaving = Counter(  # the session, the queue, the ticket and its wake-up, the next one
            {"evalsha": 1, "set": 1, "lrem": 1, "del": 1, "lindex": 1}
        )
        assert ran == counting + taking + leaving
        assert await client.get(session) == b"the session after"
    finally:
        await client.aclose()
