"""A local Discord: the gateway (HELLO, IDENTIFY → READY and GUILD_CREATE, heartbeats, events)
and the REST routes discord.py calls, answering ``application/json`` exactly (discord.py parses
JSON only then). ``dispatch(event, data)`` sends a gateway event to the connected bot.
``messages`` hold what the bot posted in channels as it stands now: an edit (``PATCH
/channels/{channel}/messages/{message}``) changes one, and a message it does not know answers
Discord's 404 "Unknown Message" (code 10008).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = "900000000000000001"
GUILD_ID = "910000000000000001"
STAFF_ROLE = "920000000000000001"
STAFF_CHANNEL = "930000000000000001"
TOKEN = "test-discord-token"
NOW = "2026-01-01T00:00:00+00:00"
_ids = itertools.count(940000000000000001)


def user(user_id: str, name: str = "ana") -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
    }


def message(
    channel_id: str, author: dict[str, Any], content: str, guild_id: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(next(_ids)), "channel_id": channel_id, "author": author, "content": content,
        "timestamp": NOW, "edited_timestamp": None, "tts": False, "mention_everyone": False,
        "mentions": [], "mention_roles": [], "attachments": [], "embeds": [], "pinned": False,
        "type": 0, "components": [], "flags": 0,
    }  # fmt: skip
    if guild_id:
        data["guild_id"] = guild_id
    return data


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any]
    at: float

    @property
    def content(self) -> str:
        return str(self.body.get("content") or "")

    def buttons(self) -> list[dict[str, Any]]:
        return [c for row in self.body.get("components") or [] for c in row["components"]]


@dataclass
class FakeDiscord:
    calls: list[Call] = field(default_factory=list)
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _failures: list[int] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Messages the bot posted in channels, by id, as they stand (edits applied)."""

    def fail(self, status: int, times: int = 1) -> None:
        """The next channel messages answer ``status`` (429 with Discord's headers)."""
        self._failures.extend([status] * times)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        return app

    def sent(self, where: str | None = None) -> list[Call]:
        """Messages the bot posted: to a channel id, or as follow-ups when ``where`` is None."""
        return [
            c
            for c in self.calls
            if c.method == "POST"
            and c.body.get("content") is not None
            and (where is None or f"/channels/{where}/" in c.path)
        ]

    def edits(self, where: str | None = None) -> list[Call]:
        """Edits of the bot's messages: in a channel id, or everywhere when ``where`` is None."""
        return [
            c
            for c in self.calls
            if c.method == "PATCH" and (where is None or c.path.startswith(f"/channels/{where}/"))
        ]

    def follow_ups(self) -> list[Call]:
        return [c for c in self.calls if c.path.startswith(f"/webhooks/{APP_ID}/")]

    async def wait_for(self, count: int, seconds: float = 10.0) -> None:
        async with asyncio.timeout(seconds):
            while len([c for c in self.calls if "content" in c.body]) < count:
                self._arrived.clear()
                await self._arrived.wait()

    async def until(self, condition: Callable[[], bool], seconds: float = 10.0) -> None:
        """Wait until ``condition`` holds, checking after each call the bot makes."""
        async with asyncio.timeout(seconds):
            while not condition():
                self._arrived.clear()
                await self._arrived.wait()

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        for socket in self._sockets:
            await socket.send_str(
                json.dumps({"op": 0, "t": event, "s": next(self._sequence), "d": data})
            )

    # -- gateway ---------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}}))
        async for frame in socket:
            if frame.type != WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            if payload["op"] == 1:
                await socket.send_str(json.dumps({"op": 11}))
            elif payload["op"] == 2:
                self._sockets.append(socket)
                await self.dispatch(
                    "READY",
                    {
                        "v": 10,
                        "user": {**user(APP_ID, "rsv"), "bot": True},
                        "guilds": [{"id": GUILD_ID, "unavailable": True}],
                        "session_id": "session-1",
                        "resume_gateway_url": str(request.url),
                        "application": {"id": APP_ID, "flags": 0},
                    },
                )
                await self.dispatch("GUILD_CREATE", _guild())
                self.ready.set()
        if socket in self._sockets:
            self._sockets.remove(socket)
        return socket

    # -- REST ------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") not in (f"Bot {TOKEN}", None):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        path = "/" + request.match_info["path"]
        body: dict[str, Any] = {}
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type.startswith("multipart/"):
            async for part in await request.multipart():
                if part.name == "payload_json":  # type: ignore[union-attr]
                    body = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    body.setdefault("files", []).append(await part.read())  # type: ignore[union-attr]
        if path.startswith("/channels/") and path.endswith("/messages") and self._failures:
            status = self._failures.pop(0)
            if status == 429:
                return _json(
                    {
                        "message": "You are being rate limited.",
                        "retry_after": 0.05,
                        "global": False,
                    },
                    429,
                    {"Retry-After": "0.05", "Via": "1.1 google", "X-RateLimit-Scope": "user"},
                )
            return _json({"message": "Internal Server Error", "code": 0}, status)
        self.calls.append(Call(request.method, path, body, time.monotonic()))
        self._arrived.set()
        return self._answer(request.method, path, body)

    def _answer(self, method: str, path: str, body: dict[str, Any]) -> web.Response:
        if path == "/users/@me":
            return _json({**user(APP_ID, "rsv"), "bot": True})
        if path == "/oauth2/applications/@me":
            return _json(
                {
                    "id": APP_ID,
                    "name": "rsv",
                    "icon": None,
                    "description": "",
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "verify_key": "00",
                    "flags": 0,
                    "owner": user("1"),
                }
            )
        if path.startswith(f"/applications/{APP_ID}/commands"):
            return _json(
                [
                    {**command, "id": str(next(_ids)), "application_id": APP_ID, "version": "1"}
                    for command in body
                ]
            )  # type: ignore[attr-defined]
        if path.startswith("/interactions/"):
            interaction_id = path.split("/")[2]
            return _json({"interaction": {"id": interaction_id, "type": 2}})
        if method == "PATCH" and path.startswith("/channels/") and "/messages/" in path:
            return self._edit(path.split("/")[4], body)
        if path.endswith("/messages") or path.startswith(f"/webhooks/{APP_ID}/"):
            channel = path.split("/")[2] if path.startswith("/channels/") else STAFF_CHANNEL
            posted = message(
                channel, {**user(APP_ID, "rsv"), "bot": True}, str(body.get("content") or "")
            )
            posted["components"] = body.get("components") or []
            if path.startswith("/channels/"):
                self.messages[posted["id"]] = posted
            return _json(posted)
        if path.endswith("/typing"):
            return web.Response(status=204)
        return _json({"message": "404: Not Found", "code": 0}, 404)

    def _edit(self, message_id: str, body: dict[str, Any]) -> web.Response:
        current = self.messages.get(message_id)
        if current is None:
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        for key in ("content", "components"):
            if key in body:
                current[key] = body[key] or ([] if key == "components" else "")
        current["edited_timestamp"] = NOW
        return _json(current)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly application/json: discord.py treats anything else as text.
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _guild() -> dict[str, Any]:
    return {
        "id": GUILD_ID,
        "name": "Hotel team",
        "icon": None,
        "owner_id": "1",
        "region": "br",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "features": [],
        "mfa_level": 0,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "preferred_locale": "pt-BR",
        "public_updates_channel_id": None,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "unavailable": False,
        "member_count": 2,
        "large": False,
        "joined_at": NOW,
        "emojis": [],
        "stickers": [],
        "members": [],
        "voice_states": [],
        "presences": [],
        "threads": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "roles": [
            {
                "id": GUILD_ID,
                "name": "@everyone",
                "permissions": "0",
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            },
            {
                "id": STAFF_ROLE,
                "name": "Front desk",
                "permissions": "0",
                "position": 1,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            },
        ],
        "channels": [
            {
                "id": STAFF_CHANNEL,
                "type": 0,
                "guild_id": GUILD_ID,
                "name": "staff",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
            }
        ],
    }


def interaction(
    kind: int,
    user_id: str,
    *,
    guild: bool,
    data: dict[str, Any],
    roles: list[str] | None = None,
    locale: str = "pt-BR",
    channel_id: str | None = None,
) -> dict[str, Any]:
    """An INTERACTION_CREATE: 2 a slash command, 3 a button press (``data.custom_id``)."""
    channel = channel_id or (STAFF_CHANNEL if guild else str(next(_ids)))
    payload: dict[str, Any] = {
        "id": str(next(_ids)), "application_id": APP_ID, "type": kind,
        "token": f"itoken-{next(_ids)}", "version": 1, "data": data, "locale": locale,
        "channel_id": channel, "app_permissions": "0", "entitlements": [],
        "authorizing_integration_owners": {}, "context": 0 if guild else 1,
        "attachment_size_limit": 8388608,
        "channel": {"id": channel, "type": 0 if guild else 1, **(
            {"guild_id": GUILD_ID, "name": "staff", "position": 0,
             "permission_overwrites": [], "nsfw": False, "parent_id": None} if guild
            else {"recipients": [user(user_id)]})},
    }  # fmt: skip
    if guild:
        payload["guild_id"] = GUILD_ID
        payload["guild_locale"] = "pt-BR"
        payload["member"] = {"user": user(user_id), "roles": roles or [], "joined_at": NOW,
                             "deaf": False, "mute": False, "flags": 0,
                             "permissions": "0"}  # fmt: skip
    else:
        payload["user"] = user(user_id)
    if kind == 3:
        payload["message"] = message(
            channel, {**user(APP_ID, "rsv"), "bot": True}, "…", GUILD_ID if guild else None
        )
    return payload


def slash(user_id: str, text: str, **options: Any) -> dict[str, Any]:
    data = {"id": str(next(_ids)), "name": "rsv", "type": 1,
            "options": [{"name": "text", "type": 3, "value": text}]}  # fmt: skip
    return interaction(2, user_id, data=data, **options)


def press(user_id: str, custom_id: str, **options: Any) -> dict[str, Any]:
    return interaction(3, user_id, data={"custom_id": custom_id, "component_type": 2}, **options)
