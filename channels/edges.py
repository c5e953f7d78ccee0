"""The HTTP side of ``bot.edge.limits``: every request carries its real client address, and the
routes that anyone on the internet can call are limited per address before their handler runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from bot.core.render import Renderer
from bot.edge.limits import EdgeDecision, EdgeLimiter, client_address, subject
from channels.wire import error_json

EDGE_ROUTES: tuple[tuple[str, str], ...] = (
    ("/api/", "rest_address"),
    ("/ws", "widget_connect_address"),
    ("/webhooks/", "webhook_address"),
    ("/telegram/", "webhook_address"),
    ("/slack/", "webhook_address"),
)
"""Path prefixes and the address limit each one counts against."""


def edge_of(path: str, routes: Sequence[tuple[str, str]] = EDGE_ROUTES) -> str | None:
    for prefix, edge in routes:
        if path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/"):
            return edge
    return None


def too_many(renderer: Renderer, decision: EdgeDecision, locale: str | None = None) -> web.Response:
    return web.json_response(
        {"error": error_json(renderer, "rate_limited", locale)},
        status=429,
        headers={"Retry-After": str(math.ceil(decision.retry_after))},
    )


def edge_middleware(limiter: EdgeLimiter, renderer: Renderer) -> Middleware:
    @web.middleware
    async def edges(request: web.Request, handler: Handler) -> web.StreamResponse:
        forwarded = request.headers.getall(hdrs.X_FORWARDED_FOR, [])
        address = client_address(request.remote, forwarded, limiter.trusted)
        if address is not None and address != request.remote:
            request = request.clone(remote=address)
        edge = edge_of(request.path)
        if edge is not None:
            decision = await limiter.hit(edge, subject(address))
            if not decision.allowed:
                return too_many(renderer, decision)
        return await handler(request)

    return edges
