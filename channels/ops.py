"""Who may read ``/metrics`` and ``/readyz``: they tell the traffic per channel and intent and
which dependency is down, worth keeping from strangers once the port is public. Open to every
caller unless a token or networks are configured; ``/healthz`` says nothing and stays open.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.edge.limits import Network, within


class OpsAccess:
    def __init__(self, token: str | None, networks: Sequence[Network]) -> None:
        self._token = token.encode() if token else None
        self._networks = tuple(networks)

    def guard(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if self._networks and not within(request.remote, self._networks):
                return web.json_response({"error": "forbidden"}, status=403)
            if self._token is not None and not self._bearer_matches(request):
                return web.json_response(
                    {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
                )
            return await handler(request)

        return guarded

    def _bearer_matches(self, request: web.Request) -> bool:
        assert self._token is not None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        offered = token.strip().encode("utf-8", "replace")
        return scheme.lower() == "bearer" and hmac.compare_digest(offered, self._token)
