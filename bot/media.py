"""Pictures the bot sends (forecast charts): kept a day under an unguessable key.

Actions ``publish`` bytes and get an ``Image`` whose URL the web server answers
(``channels.media``); channels that upload pictures (Telegram, Slack) read the bytes back by
``Image.media_key``.
"""

from __future__ import annotations

import secrets
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from bot import keys
from bot.types import Image

MEDIA_TTL_SECONDS = 24 * 60 * 60


@dataclass(frozen=True, slots=True)
class Media:
    data: bytes
    content_type: str


class MediaStore(ABC):
    @abstractmethod
    async def put(self, key: str, media: Media, ttl_seconds: int) -> None: ...

    @abstractmethod
    async def get(self, key: str) -> Media | None: ...


class MemoryMediaStore(MediaStore):
    """The newest pictures up to ``max_bytes`` in all, each until its time is up."""

    def __init__(
        self, max_bytes: int = 64 * 1024 * 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._items: OrderedDict[str, tuple[Media, float]] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._clock = clock

    async def put(self, key: str, media: Media, ttl_seconds: int) -> None:
        self._items[key] = (media, self._clock() + ttl_seconds)
        self._bytes += len(media.data)
        while self._bytes > self._max_bytes and self._items:
            _, (oldest, _) = self._items.popitem(last=False)
            self._bytes -= len(oldest.data)

    async def get(self, key: str) -> Media | None:
        item = self._items.get(key)
        if item is None:
            return None
        media, expires = item
        if expires <= self._clock():
            del self._items[key]
            self._bytes -= len(media.data)
            return None
        return media


class RedisMediaStore(MediaStore):
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def put(self, key: str, media: Media, ttl_seconds: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.media(key), mapping={"data": media.data, "type": media.content_type})
            pipe.expire(keys.media(key), ttl_seconds)
            await pipe.execute()

    async def get(self, key: str) -> Media | None:
        data, content_type = await self._redis.hmget(keys.media(key), ["data", "type"])
        if not isinstance(data, bytes) or not isinstance(content_type, bytes):
            return None
        return Media(data, content_type.decode())


class MediaLibrary:
    """Publishes pictures under ``{base_url}/media/{key}``."""

    def __init__(
        self, store: MediaStore, base_url: str, ttl_seconds: int = MEDIA_TTL_SECONDS
    ) -> None:
        self.store = store
        self._base_url = base_url.rstrip("/")
        self._ttl = ttl_seconds

    async def publish(self, data: bytes, content_type: str, alt: str) -> Image:
        key = secrets.token_urlsafe(18)
        await self.store.put(key, Media(data, content_type), self._ttl)
        return Image(f"{self._base_url}/media/{key}", alt, media_key=key)
