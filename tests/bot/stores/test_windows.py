"""Rate-limit windows on a Redis that restarts: a count waits for it instead of failing."""

from __future__ import annotations

import asyncio

import pytest
from limits import parse
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.stores.redis import redis_rate_limits
from bot.stores.redis_url import parse_redis_url
from bot.stores.windows import RateWindows
from tests.support.redis_servers import RedisServer
from tests.support.waiting import until


async def test_a_count_during_a_restart_waits_for_redis_and_is_kept(
    redis_node: RedisServer,
) -> None:
    windows = RateWindows(redis_rate_limits(parse_redis_url(redis_node.url), None), 10.0)
    three = parse("3/minute")
    assert await windows.hit(three, "messages", "web", "guest")
    redis_node.kill()

    counting = asyncio.create_task(windows.hit(three, "messages", "web", "guest"))
    await until(lambda: windows.outages.retries > 0)  # the count has met the outage
    redis_node.start()

    assert await counting
    assert windows.outages.started == 1
    assert await windows.hit(three, "messages", "web", "guest")
    assert not await windows.hit(three, "messages", "web", "guest"), "both counts were kept"


async def test_without_an_outage_budget_a_count_fails_at_once(redis_node: RedisServer) -> None:
    windows = RateWindows(redis_rate_limits(parse_redis_url(redis_node.url), None))
    redis_node.kill()
    with pytest.raises(RedisConnectionError):
        await windows.hit(parse("3/minute"), "messages", "web", "guest")
