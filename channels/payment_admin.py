"""The admin REST endpoint for refunds waiting for approval.

``GET /admin/refunds`` lists them; ``POST /admin/refunds/{id}/approve`` and
``POST /admin/refunds/{id}/deny`` (JSON ``{"reason": "..."}``, required) decide one. Every call
needs ``Authorization: Bearer <key>`` with a key of ``RSV_PAYMENTS_ADMIN_KEYS`` (compared in
constant time); without keys configured the endpoint answers 401 to everyone. An entry
``name:key`` names its key, and a decision is recorded as ``admin:<name>``; a plain key is named
by a short fingerprint (``key-`` and 8 hex digits of its SHA-256), so decisions stay
attributable without the key itself ever being stored. Deciding goes
through a ``RefundDesk`` that the composition root passes in, the same one staff buttons reach.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Sequence
from typing import Any, Protocol

import structlog
from aiohttp import web

from bot.core.text import clean
from bot.edge.credentials import header_bytes
from bot.edge.json_body import MalformedJson, json_object
from bot.edge.limits import EdgeLimiter, subject

log = structlog.get_logger("rsv360.admin")

MAX_REASON_CHARS = 500
FAILURE_EDGE = "admin_failure_address"


class RefundDesk(Protocol):
    async def pending_refunds(self) -> list[dict[str, Any]]: ...

    async def approve_refund(self, refund_id: int, actor: str) -> str:
        """ "paid", "failed", "unknown" or "decided" (not waiting any more)."""

    async def deny_refund(self, refund_id: int, actor: str, reason: str) -> str:
        """ "denied", "unknown" or "decided"."""


KEY_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def named_keys(entries: Sequence[str]) -> list[tuple[str, bytes]]:
    """``name:key`` entries as (name, key); a plain key gets its fingerprint as its name."""
    keys = []
    for entry in entries:
        name, colon, key = entry.partition(":")
        if not (colon and KEY_NAME.fullmatch(name) and key):
            name, key = "key-" + hashlib.sha256(entry.encode()).hexdigest()[:8], entry
        if key:
            keys.append((name, key.encode()))
    return keys


class RefundAdmin:
    def __init__(
        self, desk: RefundDesk, api_keys: Sequence[str], edges: EdgeLimiter | None = None
    ) -> None:
        self._desk = desk
        self._keys = named_keys(api_keys)
        self._edges = edges

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/admin/refunds", self._list)
        app.router.add_post(r"/admin/refunds/{id:\d{1,12}}/approve", self._approve)
        app.router.add_post(r"/admin/refunds/{id:\d{1,12}}/deny", self._deny)

    async def _list(self, request: web.Request) -> web.Response:
        caller = await self._caller(request)
        if isinstance(caller, web.Response):
            return caller
        return web.json_response({"refunds": await self._desk.pending_refunds()})

    async def _approve(self, request: web.Request) -> web.Response:
        caller = await self._caller(request)
        if isinstance(caller, web.Response):
            return caller
        result = await self._desk.approve_refund(int(request.match_info["id"]), caller)
        return _decided(result)

    async def _deny(self, request: web.Request) -> web.Response:
        caller = await self._caller(request)
        if isinstance(caller, web.Response):
            return caller
        try:
            document = json_object(await request.read())
        except MalformedJson:
            return web.json_response({"error": "invalid_json"}, status=400)
        reason = document.get("reason")
        reason = clean(reason).strip() if isinstance(reason, str) else ""  # staff read it
        if not reason or len(reason) > MAX_REASON_CHARS:
            return web.json_response({"error": "reason_required"}, status=400)
        result = await self._desk.deny_refund(int(request.match_info["id"]), caller, reason)
        return _decided(result)

    async def _caller(self, request: web.Request) -> str | web.Response:
        """``admin:<key name>`` for a good key; else the answer. An address that failed too
        often is refused even with a good key, or guessing would only be slowed down."""
        address = subject(request.remote)
        if self._edges is not None:
            over = await self._edges.check(FAILURE_EDGE, address)
            if not over.allowed:
                log.warning("admin_unauthorised", reason="too_many_failures", client=address)
                return web.json_response(
                    {"error": "too_many_failures"},
                    status=429,
                    headers={"Retry-After": str(math.ceil(over.retry_after))},
                )
        name, reason = self._key_name(request)
        if name is not None:
            return f"admin:{name}"
        if self._edges is not None:
            await self._edges.hit(FAILURE_EDGE, address)
        # The reason and the address only: never the key, not even a prefix of it.
        log.warning("admin_unauthorised", reason=reason, client=address)
        return web.json_response(
            {"error": "unauthorised"}, status=401, headers={"WWW-Authenticate": "Bearer"}
        )

    def _key_name(self, request: web.Request) -> tuple[str | None, str]:
        """The name of the bearer key, or None and why not."""
        header = request.headers.get("Authorization")
        if header is None:
            return None, "missing"
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, "malformed"
        given = header_bytes(token.strip())
        # Every key compared, none skipped: the time does not tell which one was close.
        matches = [name for name, key in self._keys if hmac.compare_digest(given, key)]
        return (matches[0], "") if matches else (None, "unknown_key")


def _decided(result: str) -> web.Response:
    status = {"unknown": 404, "decided": 409, "failed": 502}.get(result, 200)
    return web.json_response({"result": result}, status=status)
