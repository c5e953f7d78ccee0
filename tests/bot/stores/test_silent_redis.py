"""A single Redis that stops answering, its connections still open (SIGSTOP: a hung server or a
lost network): a read times out after ``RSV_REDIS_COMMAND_SECONDS`` and counts as an outage. A
command waits the outage out if the server answers again in time, and fails clearly if it does
not; it never hangs. A try that timed out may still run when the server wakes (its bytes were
sent): the turn's script recognises its own ticket and delivery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from limits import parse
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.root.app import redis_clients
from bot.root.settings import Settings
from bot.stores import keys
from bot.stores.base import Delivery, Redelivered
from bot.stores.bundle import RedisClients, build_stores
from bot.stores.redis import OutageRidingRedis, redis_rate_limits
from bot.stores.windows import RateWindows
from tests.support.redis_servers import RedisServer
from tests.support.waiting import until

COMMAND_SECONDS = 0.2
OUTAGE_SECONDS = 1.5
MAX_WAIT_SECONDS = 2.0


@pytest.fixture
async def clients(redis_node: RedisServer) -> AsyncIterator[RedisClients]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        redis_url=redis_node.url,
        redis_command_seconds=COMMAND_SECONDS,
        redis_outage_seconds=OUTAGE_SECONDS,
        order_max_wait_seconds=MAX_WAIT_SECONDS,
    )
    clients = redis_clients(settings)
    assert clients is not None
    yield clients
    redis_node.thaw()
    await clients.close()


def client_of(clients: RedisClients) -> OutageRidingRedis:
    assert isinstance(clients.client, OutageRidingRedis)
    return clients.client


async def test_a_read_times_out_after_the_command_seconds_a_wait_for_a_turn_after_more(
    clients: RedisClients,
) -> None:
    timeouts = [
        client.connection_pool.connection_kwargs["socket_timeout"]
        for client in (clients.client, clients.waits)
        if isinstance(client, OutageRidingRedis)
    ]
    assert timeouts == [COMMAND_SECONDS, COMMAND_SECONDS + MAX_WAIT_SECONDS]
    assert client_of(clients).outages is getattr(clients.waits, "outages", None), "counted once"


async def test_a_server_that_answers_again_in_time_is_an_outage_ridden_out(
    clients: RedisClients, redis_node: RedisServer
) -> None:
    client = client_of(clients)
    await client.set("rsv:test:deadline", "kept")
    redis_node.freeze()

    async def read() -> bytes | str | None:
        return await client.get("rsv:test:deadline")

    reading = asyncio.create_task(read())
    await until(lambda: client.outages.retries > 0)  # a try gave up; the read goes on
    assert not reading.done()
    redis_node.thaw()

    assert await reading == b"kept"
    assert client.outages.started == 1
    assert await client.get("rsv:test:deadline") == b"kept", "the client works on"


async def test_a_server_that_stays_silent_fails_the_command_at_the_outage_budget(
    clients: RedisClients, redis_node: RedisServer
) -> None:
    client = client_of(clients)
    await client.ping()
    redis_node.freeze()

    started = time.monotonic()
    with pytest.raises(RedisTimeoutError):
        async with asyncio.timeout(10):  # without a read timeout it would never end
            await client.get("rsv:test:deadline")
    took = time.monotonic() - started
    assert COMMAND_SECONDS <= took < OUTAGE_SECONDS + COMMAND_SECONDS + 1.0

    redis_node.thaw()
    assert await client.ping(), "the connection given up was closed, not reused half-read"


async def test_a_wait_for_a_turn_may_outlast_the_command_seconds(clients: RedisClients) -> None:
    waits = clients.waits
    assert isinstance(waits, OutageRidingRedis)
    waited = 3 * COMMAND_SECONDS

    started = time.monotonic()
    assert await waits.blpop(["rsv:test:nothing"], timeout=waited) is None
    assert time.monotonic() - started >= waited
    assert waits.outages.retries == 0, "an empty list waited for is not an outage"


async def test_a_turn_taken_while_the_server_hangs_joins_once_and_is_no_redelivery(
    clients: RedisClients, redis_node: RedisServer
) -> None:
    """The first try's script ran when the server woke (its bytes were sent before the deadline):
    the retry finds its own ticket in the queue and its own mark on the delivery."""
    stores = build_stores(clients, 5.0, 5.0)
    client = client_of(clients)
    async with stores.order.turn("web:another"):  # the scripts are loaded on the server
        pass
    redis_node.freeze()

    taken = asyncio.Event()
    release = asyncio.Event()

    async def one_turn() -> None:
        async with stores.order.turn("web:guest", delivery=Delivery("rsv:test:update:1", 60)):
            taken.set()
            await release.wait()

    turn = asyncio.create_task(one_turn())
    await until(lambda: client.outages.retries > 0)
    redis_node.thaw()

    await asyncio.wait_for(taken.wait(), 5)  # no Redelivered: the delivery was its own
    assert await client.llen(keys.order_queue("web:guest")) == 1, "joined once"
    release.set()
    await turn
    assert await client.llen(keys.order_queue("web:guest")) == 0
    with pytest.raises(Redelivered):
        async with stores.order.turn("web:guest", delivery=Delivery("rsv:test:update:1", 60)):
            pass


async def test_a_rate_limit_count_rides_out_a_silent_server(
    clients: RedisClients, redis_node: RedisServer
) -> None:
    client = client_of(clients)
    storage = redis_rate_limits(clients.target, client.connection_pool)
    windows = RateWindows(storage, OUTAGE_SECONDS, client.outages)
    three = parse("3/minute")
    assert await windows.hit(three, "messages", "web", "guest")
    redis_node.freeze()

    counting = asyncio.create_task(windows.hit(three, "messages", "web", "guest"))
    await until(lambda: windows.outages.retries > 0)
    redis_node.thaw()

    assert await counting
    assert client.outages.started == 1, "the clients' outage, as /metrics shows it"
    # The count given up on was applied as the server woke: a moving window cannot tell a
    # count sent again from a new one, so it may have counted twice (at least once).
    stats = await windows.stats(three, "messages", "web", "guest")
    assert stats.remaining in (0, 1)
