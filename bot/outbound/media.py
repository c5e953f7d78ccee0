"""Pictures the bot sends (forecast charts): kept a day under an unguessable key.

Actions ``publish`` bytes and get an ``Image`` whose URL the web server answers
(``channels.media``); channels that upload pictures (Telegram, Slack) read the bytes back by
``Image.media_key``.
"""

from __future__ import annotations

import secrets

from bot.core.types import Image
from bot.stores.base import Media, MediaStore

MEDIA_TTL_SECONDS = 24 * 60 * 60


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
