"""Shared fixtures: settings on a temporary data dir, a real Redis, and apps for both backends."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.settings import Settings

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """A real Redis, emptied before the test (a database of its own: 9 unless REDIS_URL says)."""
    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def make_settings(tmp_path: Any) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"data_dir": tmp_path, "widget_secret": "test-widget-secret"}
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture(params=["memory", "redis"])
async def backend_settings(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> AsyncIterator[Callable[..., Settings]]:
    """Settings factory for the in-process stores and for Redis: tests using it run twice."""
    if request.param == "redis":
        client = Redis.from_url(REDIS_URL)
        await client.flushdb()
        await client.aclose()

        def with_redis(**overrides: Any) -> Settings:
            return make_settings(redis_url=REDIS_URL, **overrides)

        yield with_redis
    else:
        yield make_settings
