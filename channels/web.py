"""The website's chat widget: a demo page, the embeddable script and its WebSocket at ``/ws``.

A visitor's conversation id travels in a signed token (itsdangerous), so a reload or a
reconnect resumes the same conversation; a forged or expired token starts a new one.

A hello with ``welcome`` (the page's ``data-rsv-welcome``) that starts a conversation is
answered with the bot's greeting for that property; a resumed conversation is never greeted again.

Messages the bot starts (``bot.outbound.proactive``) go to every open socket of the conversation
(one per browser tab); what came while none was open is sent after the next hello's session frame.
"""

from __future__ import annotations

import asyncio
import math
import re
import uuid
import weakref
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.core.buttons import MAX_PAYLOAD_CHARS, button_payload
from bot.core.engine import Engine
from bot.core.loops import cancel_and_wait
from bot.core.render import Renderer
from bot.core.types import Address, Message, Reply
from bot.edge.json_body import MalformedJson, json_object
from bot.edge.limits import EdgeLimiter, subject
from bot.outbound.proactive import Notifier
from channels.wire import (
    MAX_ID_CHARS,
    InvalidInput,
    checked_optional,
    checked_text,
    error_json,
    reply_json,
)

CHANNEL = "web"
WELCOME_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
STATIC = Path(__file__).resolve().parent / "static"


class WebChannel:
    def __init__(
        self,
        engine: Engine[Any],
        renderer: Renderer,
        *,
        secret: str,
        token_max_age: int,
        allowed_origins: list[str],
        max_text_chars: int,
        notifier: Notifier | None = None,
        edges: EdgeLimiter | None = None,
    ) -> None:
        self._engine = engine
        self._edges = edges
        self._notifier = notifier
        self._renderer = renderer
        self._tokens = URLSafeTimedSerializer(secret, salt="rsv360-widget")
        self._token_max_age = token_max_age
        self._allowed_origins = {origin.rstrip("/") for origin in allowed_origins}
        self._max_text_chars = max_text_chars
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self._open: dict[str, set[web.WebSocketResponse]] = {}  # conversation id → its sockets

    def mount(self, app: web.Application) -> None:
        app.router.add_get("/", self._demo_page)
        app.router.add_get("/widget.js", self._widget_script)
        app.router.add_get("/ws", self._websocket)
        app.on_shutdown.append(self._close_sockets)
        app.cleanup_ctx.append(self._follow_wakeups)

    async def _follow_wakeups(self, _: web.Application) -> AsyncIterator[None]:
        """Replies the bot starts in another process reach the sockets open in this one."""
        if self._notifier is None:
            yield
            return
        ready = asyncio.Event()
        follower = asyncio.create_task(
            self._notifier.follow(CHANNEL, self._open.__contains__, ready)
        )
        subscribed = asyncio.create_task(ready.wait())
        await asyncio.wait((follower, subscribed), return_when=asyncio.FIRST_COMPLETED)
        subscribed.cancel()
        yield
        await cancel_and_wait(follower)

    async def _close_sockets(self, _: web.Application) -> None:
        """Tell every open widget that the server is going away; the widgets reconnect."""
        for socket in list(self._sockets):
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    async def _demo_page(self, _: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "demo.html")

    async def _widget_script(self, _: web.Request) -> web.FileResponse:
        return web.FileResponse(
            STATIC / "widget.js", headers={"Content-Type": "text/javascript; charset=utf-8"}
        )

    def _origin_allowed(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser: cross-site WebSocket hijacking needs one
        # Host only, not the scheme: behind a TLS-terminating proxy the request itself is http.
        same_origin = urlsplit(origin).netloc == request.host
        return same_origin or origin.rstrip("/") in self._allowed_origins

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if not self._origin_allowed(request):
            return web.json_response(
                {"error": error_json(self._renderer, "origin_not_allowed", None)}, status=403
            )
        socket = web.WebSocketResponse(heartbeat=30, max_msg_size=1024 * 1024)
        await socket.prepare(request)
        self._sockets.add(socket)
        conversation = _Conversation(subject(request.remote))
        try:
            async for frame in socket:
                if frame.type == WSMsgType.TEXT:
                    await self._on_frame(socket, conversation, frame.data)
                elif frame.type == WSMsgType.BINARY:
                    try:
                        text = frame.data.decode("utf-8")
                    except UnicodeDecodeError:
                        await self._send_error(socket, conversation, "invalid_utf8")
                        continue
                    await self._on_frame(socket, conversation, text)
        finally:
            self._forget(socket, conversation)
        return socket

    async def deliver(self, address: Address, replies: Sequence[Reply]) -> bool:
        """Send replies the bot starts to every open socket of the conversation; False when
        none took them (the notifier then keeps them for the next hello)."""
        delivered = False
        for socket in list(self._open.get(address.conversation_id, ())):
            if socket.closed:
                continue
            try:
                for reply in replies:
                    await socket.send_json({"type": "message", **reply_json(reply)})
            except (ConnectionError, RuntimeError):
                continue  # closing meanwhile: the other tabs still count
            delivered = True
        return delivered

    def _forget(self, socket: web.WebSocketResponse, conversation: _Conversation) -> None:
        if conversation.id is None:
            return
        sockets = self._open.get(conversation.id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._open[conversation.id]

    async def _on_frame(
        self, socket: web.WebSocketResponse, conversation: _Conversation, raw: str
    ) -> None:
        try:
            frame = json_object(raw)
        except MalformedJson as refused:
            code = "invalid_frame" if refused.code == "invalid_request" else refused.code
            await self._send_error(socket, conversation, code)
            return
        try:
            if frame.get("type") == "hello":
                await self._hello(socket, conversation, frame)
            elif frame.get("type") in ("message", "button"):
                await self._message(socket, conversation, frame)
            else:
                raise InvalidInput("invalid_frame")
        except InvalidInput as refused:
            await self._send_error(socket, conversation, refused.code)

    async def _hello(
        self, socket: web.WebSocketResponse, conversation: _Conversation, frame: dict[str, Any]
    ) -> None:
        locale = frame.get("locale")
        conversation.locale = locale if isinstance(locale, str) and len(locale) <= 35 else None
        # Every hello may start a conversation, with a fresh per-user allowance: a socket and an
        # address get only so many, and a socket that keeps asking is closed.
        limited = await self._over_limit(
            ("widget_hello_socket", conversation.socket),
            ("widget_hello_address", conversation.address),
        )
        if limited is not None:
            await self._refuse(socket, conversation, limited)
            await socket.close(code=WSCloseCode.POLICY_VIOLATION, message=b"rate limited")
            return
        token = frame.get("token")
        welcome = _welcome_of(frame)
        self._forget(socket, conversation)  # a second hello may name another conversation
        conversation.id = None
        if token is not None:
            try:
                claims = self._tokens.loads(token, max_age=self._token_max_age)
                conversation.id = str(claims["c"])
            except (BadSignature, KeyError, TypeError):
                await self._send_error(socket, conversation, "invalid_token")
        started = conversation.id is None
        conversation_id = conversation.id = conversation.id or uuid.uuid4().hex
        await socket.send_json(
            {
                "type": "session",
                "token": self._tokens.dumps({"c": conversation_id}),
                "conversation_id": conversation_id,
            }
        )
        self._open.setdefault(conversation_id, set()).add(socket)
        if self._notifier is not None:
            await self._notifier.flush(Address(CHANNEL, conversation_id))
        if started and welcome is not None:
            await self._greet(socket, conversation, welcome)

    async def _greet(
        self, socket: web.WebSocketResponse, conversation: _Conversation, place: str
    ) -> None:
        """A new conversation opens with the bot's greeting (the page asked for it)."""
        assert conversation.id is not None
        entities = {"property": place} if place else {}
        result = await self._engine.handle(
            Message(
                channel=CHANNEL,
                conversation_id=conversation.id,
                user_id=conversation.id,
                payload=button_payload("welcome", **entities),
                locale_hint=conversation.locale,
            )
        )
        for reply in result.replies:
            await socket.send_json({"type": "message", **reply_json(reply)})

    async def _message(
        self, socket: web.WebSocketResponse, conversation: _Conversation, frame: dict[str, Any]
    ) -> None:
        if conversation.id is None:
            raise InvalidInput("no_session")
        limited = await self._over_limit(("widget_message_socket", conversation.socket))
        if limited is not None:
            await self._refuse(socket, conversation, limited)
            return
        if frame["type"] == "message":
            text, payload = checked_text(frame.get("text"), self._max_text_chars), None
        else:
            text, payload = None, checked_text(frame.get("payload"), MAX_PAYLOAD_CHARS)
        update_id = checked_optional(frame.get("id"), MAX_ID_CHARS)
        await socket.send_json({"type": "typing"})
        result = await self._engine.handle(
            Message(
                channel=CHANNEL,
                conversation_id=conversation.id,
                user_id=conversation.id,
                text=text,
                payload=payload,
                locale_hint=conversation.locale,
                update_id=update_id,
            )
        )
        for reply in result.replies:
            await socket.send_json({"type": "message", **reply_json(reply)})
        if not result.replies:
            await socket.send_json({"type": "typing", "active": False})

    async def _over_limit(self, *counted: tuple[str, str]) -> float | None:
        """Seconds to wait when any of the (edge, client) counts is over its limit."""
        if self._edges is None:
            return None
        for edge, who in counted:
            decision = await self._edges.hit(edge, who)
            if not decision.allowed:
                return decision.retry_after
        return None

    async def _refuse(
        self, socket: web.WebSocketResponse, conversation: _Conversation, retry_after: float
    ) -> None:
        await socket.send_json(
            {
                "type": "error",
                **error_json(self._renderer, "rate_limited", conversation.locale),
                "retry_after": math.ceil(retry_after),
            }
        )

    async def _send_error(
        self, socket: web.WebSocketResponse, conversation: _Conversation, code: str
    ) -> None:
        await socket.send_json(
            {"type": "error", **error_json(self._renderer, code, conversation.locale)}
        )


def _welcome_of(frame: dict[str, Any]) -> str | None:
    """The hello's ``welcome``: a property's slug, or true for the default property; None
    (no greeting) when absent or malformed."""
    welcome = frame.get("welcome")
    if welcome is True:
        return ""
    if isinstance(welcome, str) and WELCOME_SLUG.fullmatch(welcome):
        return welcome
    return None


class _Conversation:
    """What one WebSocket connection knows about its visitor."""

    __slots__ = ("address", "id", "locale", "socket")

    def __init__(self, address: str) -> None:
        self.id: str | None = None
        self.locale: str | None = None
        self.address = address  # what the address limits count (bot.edge.limits.subject)
        self.socket = uuid.uuid4().hex  # what the per-socket limits count
