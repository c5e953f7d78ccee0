"""The admin REST endpoint for refunds waiting for approval.

``GET /admin/refunds`` lists them; ``POST /admin/refunds/{id}/approve`` and
``POST /admin/refunds/{id}/deny`` (JSON ``{"reason": "..."}``, required) decide one. Every call
needs ``Authorization: Bearer <key>`` with a key of ``RSV_PAYMENTS_ADMIN_KEYS`` (compared in
constant time); without keys configured the endpoint answers 401 to everyone. Deciding goes
through a ``RefundDesk`` that the composition root passes in, the same one staff buttons reach.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import structlog
from aiohttp import web

from bot.credentials import bearer_matches
from bot.json_body import MalformedJson, json_object
from bot.text import clean

log = structlog.get_logger("rsv360.admin")

MAX_REASON_CHARS = 500


class RefundDesk(Protocol):
    async def pending_refunds(self) -> list[dict[str, Any]]: ...

    async def approve_refund(self, refund_id: int, actor: str) -> str:
        """ "paid", "failed", "unknown" or "decided" (not waiting any more)."""

    async def deny_refund(self, refund_id: int, actor: str, reason: str) -> str:
        """ "denied", "unknown" or "decided"."""


class RefundAdmin:
    def __init__(self, desk: RefundDesk, api_keys: Sequence[str]) -> None:
        self._desk = desk
        self._keys = [key.encode() for key in api_keys if key]

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/admin/refunds", self._list)
        app.router.add_post(r"/admin/refunds/{id:\d{1,12}}/approve", self._approve)
        app.router.add_post(r"/admin/refunds/{id:\d{1,12}}/deny", self._deny)

    async def _list(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _unauthorised()
        return web.json_response({"refunds": await self._desk.pending_refunds()})

    async def _approve(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _unauthorised()
        result = await self._desk.approve_refund(int(request.match_info["id"]), "admin:rest")
        return _decided(result)

    async def _deny(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _unauthorised()
        try:
            document = json_object(await request.read())
        except MalformedJson:
            return web.json_response({"error": "invalid_json"}, status=400)
        reason = document.get("reason")
        reason = clean(reason).strip() if isinstance(reason, str) else ""  # staff read it
        if not reason or len(reason) > MAX_REASON_CHARS:
            return web.json_response({"error": "reason_required"}, status=400)
        result = await self._desk.deny_refund(int(request.match_info["id"]), "admin:rest", reason)
        return _decided(result)

    def _authorised(self, request: web.Request) -> bool:
        return bearer_matches(request.headers.get("Authorization", ""), self._keys)


def _unauthorised() -> web.Response:
    log.warning("admin_unauthorised")
    return web.json_response(
        {"error": "unauthorised"}, status=401, headers={"WWW-Authenticate": "Bearer"}
    )


def _decided(result: str) -> web.Response:
    status = {"unknown": 404, "decided": 409, "failed": 502}.get(result, 200)
    return web.json_response({"result": result}, status=status)
