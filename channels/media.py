"""``GET /media/{key}``: the pictures the bot published (``bot.outbound.media``), for the widget."""

from __future__ import annotations

from aiohttp import web

from bot.stores.base import MediaStore

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, max-age=86400, immutable",
    "Content-Security-Policy": "default-src 'none'",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


class MediaRoutes:
    def __init__(self, store: MediaStore) -> None:
        self._store = store

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/media/{key}", self._get)

    async def _get(self, request: web.Request) -> web.Response:
        media = await self._store.get(request.match_info["key"])
        if media is None:
            raise web.HTTPNotFound(text="not found")
        return web.Response(body=media.data, content_type=media.content_type, headers=HEADERS)
