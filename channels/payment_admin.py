"""The admin REST endpoint for refunds waiting for approval.

``GET /admin/refunds`` lists them; ``POST /admin/refunds/{id}/approve`` and
``POST /admin/refunds/{id}/deny`` (JSON ``{"reason": "..."}``, required) decide one. Every call
needs ``Authorization: Bearer <key>`` with a key of ``RSV_PAYMENTS_ADMIN_KEYS`` (compared in
constant time); without keys configured the endpoint answers 401 to everyone. Deciding goes
through a ``RefundDesk`` that the composition root passes in, the same one staff buttons reach.
"""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Sequence
from typing import Any, Protocol

import structlog
from aiohttp import web

from bot.edges import EdgeLimiter, subject

log = structlog.get_logger("rsv360.admin")

MAX_REASON_CHARS = 500
FAILURE_EDGE = "admin_failure_address"


class RefundDesk(Protocol):
    async def pending_refunds(self) -> list[dict[str, Any]]: ...

    async def approve_refund(self, refund_id: int, actor: str) -> str:
        """ "paid", "failed", "unknown" or "decided" (not waiting any more)."""

    async def deny_refund(self, refund_id: int, actor: str, reason: str) -> str:
        """ "denied", "unknown" or "decided"."""


class RefundAdmin:
    def __init__(
        self, desk: RefundDesk, api_keys: Sequence[str], edges: EdgeLimiter | None = None
    ) -> None:
        self._desk = desk
        self._keys = [key.encode() for key in api_keys if key]
        self._edges = edges

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/admin/refunds", self._list)
        app.router.add_post(r"/admin/refunds/{id:\d{1,12}}/approve", self._approve)
        app.router.add_post(r"/admin/refunds/{id:\d{1,12}}/deny", self._deny)

    async def _list(self, request: web.Request) -> web.Response:
        if (refused := await self._refused(request)) is not None:
            return refused
        return web.json_response({"refunds": await self._desk.pending_refunds()})

    async def _approve(self, request: web.Request) -> web.Response:
        if (refused := await self._refused(request)) is not None:
            return refused
        result = await self._desk.approve_refund(int(request.match_info["id"]), "admin:rest")
        return _decided(result)

    async def _deny(self, request: web.Request) -> web.Response:
        if (refused := await self._refused(request)) is not None:
            return refused
        try:
            document = json.loads(await request.read() or b"null")
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "invalid_json"}, status=400)
        reason = document.get("reason") if isinstance(document, dict) else None
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_CHARS:
            return web.json_response({"error": "reason_required"}, status=400)
        result = await self._desk.deny_refund(
            int(request.match_info["id"]), "admin:rest", reason.strip()
        )
        return _decided(result)

    async def _refused(self, request: web.Request) -> web.Response | None:
        """None for a good key; else the answer. An address that failed too often is refused
        even with a good key, or guessing would only be slowed down, never stopped."""
        address = subject(request.remote)
        if self._edges is not None:
            over = await self._edges.check(FAILURE_EDGE, address)
            if not over.allowed:
                log.warning("admin_unauthorised", reason="too_many_failures", client=address)
                return web.json_response(
                    {"error": "too_many_failures"}, status=429,
                    headers={"Retry-After": str(math.ceil(over.retry_after))},
                )  # fmt: skip
        reason = self._failure(request)
        if reason is None:
            return None
        if self._edges is not None:
            await self._edges.hit(FAILURE_EDGE, address)
        # The reason and the address only: never the key, not even a prefix of it.
        log.warning("admin_unauthorised", reason=reason, client=address)
        return web.json_response(
            {"error": "unauthorised"}, status=401, headers={"WWW-Authenticate": "Bearer"}
        )

    def _failure(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization")
        if header is None:
            return "missing"
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "malformed"
        given = token.strip().encode()
        # Every key compared, none skipped: the time does not tell which one was close.
        matches = [hmac.compare_digest(given, key) for key in self._keys]
        return None if any(matches) else "unknown_key"


def _decided(result: str) -> web.Response:
    status = {"unknown": 404, "decided": 409, "failed": 502}.get(result, 200)
    return web.json_response({"result": result}, status=status)
