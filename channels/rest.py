"""REST: ``POST /api/v1/messages`` for integrations that are not a chat provider."""

from __future__ import annotations

import ipaddress
import math
from typing import Any

from aiohttp import web

from bot.core.buttons import MAX_PAYLOAD_CHARS
from bot.core.engine import Engine
from bot.core.render import Renderer
from bot.core.types import Message
from bot.edge.credentials import bearer_matches
from bot.edge.json_body import MalformedJson, json_object
from bot.edge.limits import EdgeLimiter, key_identity
from channels.wire import (
    MAX_ID_CHARS,
    InvalidInput,
    checked_optional,
    checked_text,
    error_json,
    reply_json,
)

CHANNEL = "rest"
_STATUS = {"unauthorized": 401, "payload_too_large": 413, "message_too_long": 413}


class RestChannel:
    def __init__(
        self,
        engine: Engine[Any],
        renderer: Renderer,
        *,
        api_keys: list[str],
        max_text_chars: int,
        edges: EdgeLimiter | None = None,
    ) -> None:
        self._engine = engine
        self._edges = edges
        self._renderer = renderer
        self._api_keys = [key.encode() for key in api_keys]
        self._max_text_chars = max_text_chars

    def mount(self, app: web.Application) -> None:
        app.router.add_post("/api/v1/messages", self._messages)

    async def _messages(self, request: web.Request) -> web.Response:
        locale_hint: str | None = None
        try:
            if not self._authorized(request):
                raise InvalidInput("unauthorized")
            over = await self._over_key_limit(request)
            if over is not None:
                return self._error("rate_limited", None, 429, retry_after=over)
            document = await _json_body(request)
            locale_hint = (
                document.get("locale") if isinstance(document.get("locale"), str) else None
            )
            message = self._message(document)
        except InvalidInput as refused:
            return self._error(refused.code, locale_hint, _STATUS.get(refused.code, 400))
        result = await self._engine.handle(message)
        if result.status == "rate_limited":
            return self._error(
                "rate_limited", locale_hint, 429, retry_after=result.retry_after or 1.0
            )
        if result.status == "busy":
            return self._error(
                "conversation_busy", locale_hint, 503, retry_after=result.retry_after or 1.0
            )
        if result.status == "failed":
            return self._error("internal", locale_hint, 500)
        return web.json_response(
            {
                "conversation_id": message.conversation_id,
                "replies": [reply_json(reply) for reply in result.replies],
            }
        )

    def _authorized(self, request: web.Request) -> bool:
        if not self._api_keys:
            return request.remote is not None and _is_loopback(request.remote)
        return bearer_matches(request.headers.get("Authorization", ""), self._api_keys)

    async def _over_key_limit(self, request: web.Request) -> float | None:
        """Seconds to wait when the request's API key is over its limit, whatever user ids it
        spreads its messages over."""
        if self._edges is None or not self._api_keys:
            return None
        key = request.headers.get("Authorization", "").partition(" ")[2].strip()
        decision = await self._edges.hit("rest_key", key_identity(key))
        return None if decision.allowed else decision.retry_after

    def _message(self, document: dict[str, Any]) -> Message:
        user_id = checked_optional(document.get("user_id"), MAX_ID_CHARS)
        if user_id is None:
            raise InvalidInput("invalid_request")
        text, payload = document.get("text"), document.get("payload")
        if (text is None) == (payload is None):
            raise InvalidInput("invalid_request" if text is None else "text_or_payload")
        return Message(
            channel=CHANNEL,
            conversation_id=user_id,
            user_id=user_id,
            text=None if text is None else checked_text(text, self._max_text_chars),
            payload=None if payload is None else checked_text(payload, MAX_PAYLOAD_CHARS),
            locale_hint=checked_optional(document.get("locale"), 35),
            update_id=checked_optional(document.get("message_id"), MAX_ID_CHARS),
        )

    def _error(
        self, code: str, locale_hint: str | None, status: int, retry_after: float | None = None
    ) -> web.Response:
        headers = {} if retry_after is None else {"Retry-After": str(math.ceil(retry_after))}
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="rsv360"'
        return web.json_response(
            {"error": error_json(self._renderer, code, locale_hint)}, status=status, headers=headers
        )


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise InvalidInput("payload_too_large") from None
    try:
        return json_object(raw)
    except MalformedJson as refused:
        raise InvalidInput(refused.code) from None


def _is_loopback(remote: str) -> bool:
    try:
        return ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False
