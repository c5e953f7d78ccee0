"""Published pictures: kept a while under an unguessable key, answered at /media/{key}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.outbound.media import MediaLibrary
from bot.root.app import build_runtime, create_app
from bot.root.settings import Settings
from bot.stores.base import Media, MediaStore
from bot.stores.memory import MemoryMediaStore
from bot.stores.redis import RedisMediaStore

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


@pytest.fixture(params=["memory", "redis"])
def media_store(request: pytest.FixtureRequest) -> MediaStore:
    """In process, then on Redis (the ``redis`` fixture only for that run)."""
    if request.param == "memory":
        return MemoryMediaStore()
    return RedisMediaStore(request.getfixturevalue("redis"))


async def test_a_published_picture_is_read_back_by_its_key(media_store: MediaStore) -> None:
    image = await MediaLibrary(media_store, "https://bot.example/").publish(PNG, "image/png", "x")
    assert image.media_key is not None
    assert image.url == f"https://bot.example/media/{image.media_key}"
    assert image.alt == "x"
    assert await media_store.get(image.media_key) == Media(PNG, "image/png")
    assert await media_store.get("unknown") is None


async def test_two_pictures_get_different_keys(media_store: MediaStore) -> None:
    library = MediaLibrary(media_store, "http://h")
    first, second = [await library.publish(PNG, "image/png", "") for _ in range(2)]
    assert first.media_key != second.media_key


async def test_redis_pictures_expire(redis: Redis) -> None:
    await RedisMediaStore(redis).put("k", Media(PNG, "image/png"), 60)
    assert 0 < await redis.ttl("rsv:media:k") <= 60


async def test_the_memory_store_forgets_expired_and_the_oldest_beyond_its_size() -> None:
    now = [0.0]
    store = MemoryMediaStore(lambda: now[0], max_bytes=2 * len(PNG))
    for key in ("a", "b", "c"):
        await store.put(key, Media(PNG, "image/png"), 10)
    assert await store.get("a") is None
    assert await store.get("b") is not None
    now[0] = 11
    assert await store.get("c") is None


async def test_the_server_answers_a_published_picture_and_404_otherwise(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    runtime = build_runtime(settings)
    client = await aiohttp_client(create_app(settings, runtime))
    image = await runtime.media.publish(PNG, "image/png", "chart")
    found = await client.get(f"/media/{image.media_key}")
    assert found.status == 200
    assert found.headers["Content-Type"] == "image/png"
    assert found.headers["X-Content-Type-Options"] == "nosniff"
    assert await found.read() == PNG
    assert (await client.get("/media/nothing-here")).status == 404
