"""A local Slack Web API (``/api/{method}``) and response_url endpoint, plus signed requests.

Records every call with its arrival time; ``fail(method, status, times)`` answers Slack's error
bodies (429 with ``Retry-After``), ``locales`` (by user id) and ``groups`` (user ids by group)
feed users.info and usergroups.list, and uploads land on this server's own ``/upload`` URL.
``signed(body)`` builds the headers Slack signs a request with (another ``secret``, or an old
timestamp ``at``, for the refusals).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

TOKEN = "xoxb-test-token"
SIGNING_SECRET = "test-slack-signing-secret"
BOT_USER = "UBOT0001"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float

    @property
    def channel(self) -> str:
        return str(self.params.get("channel") or self.params.get("channel_id"))

    def buttons(self) -> list[dict[str, Any]]:
        blocks = self.params.get("blocks") or []
        return [e for block in blocks if block["type"] == "actions" for e in block["elements"]]


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    locales: dict[str, str] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    retry_after: int = 1
    base: str = ""
    """This server's own URL, for the upload URLs it hands out."""
    _failures: dict[str, list[int]] = field(default_factory=dict)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def fail(self, method: str, status: int, times: int = 1) -> None:
        self._failures.setdefault(method, []).extend([status] * times)

    def sent(self, method: str = "chat.postMessage", channel: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and channel in (None, c.channel)]

    def texts(self, channel: str | None = None) -> list[str]:
        return [str(call.params.get("text")) for call in self.sent(channel=channel)]

    async def wait_for(self, method: str, count: int, seconds: float = 10.0) -> list[Call]:
        async with asyncio.timeout(seconds):
            while len(self.sent(method)) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.sent(method)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{id}", self._respond)
        app.router.add_post("/upload/{id}", self._upload)
        return app

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.method == "POST":
            params.update(await request.post())
            if isinstance(params.get("blocks"), str):
                params["blocks"] = json.loads(params["blocks"])
        failures = self._failures.get(method)
        if failures:
            status = failures.pop(0)
            if status == 429:
                wait = {"Retry-After": str(self.retry_after)}
                body = {"ok": False, "error": "ratelimited"}
                return web.json_response(body, status=429, headers=wait)
            return web.json_response({"ok": False, "error": "internal_error"}, status=status)
        self.calls.append(Call(method, params, time.monotonic()))
        self._arrived.set()
        return web.json_response(self._result(method, params))

    async def _respond(self, request: web.Request) -> web.Response:
        self.calls.append(Call("response_url", await request.json(), time.monotonic()))
        self._arrived.set()
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        self.calls.append(Call("upload", {"bytes": await request.read()}, time.monotonic()))
        return web.Response(text="OK - 1")

    def _result(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://hotel.slack.com/",
                "team": "Hotel",
                "user": "rsv",
                "team_id": "T0001",
                "user_id": BOT_USER,
                "bot_id": "B0001",
            }
        if method == "users.info":
            user = {"id": params.get("user"), "locale": self.locales.get(str(params.get("user")))}
            return {"ok": True, "user": user}
        if method == "usergroups.list":
            groups = [{"id": group, "users": users} for group, users in self.groups.items()]
            return {"ok": True, "usergroups": groups}
        if method == "files.getUploadURLExternal":
            return {"ok": True, "file_id": "F0001", "upload_url": f"{self.base}/upload/F0001"}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": [{"id": "F0001", "title": "picture.png"}]}
        if method == "chat.postMessage":
            return {"ok": True, "channel": params.get("channel"), "ts": f"{next(self._ts)}.0001"}
        return {"ok": True}


def signed(body: str, secret: str = SIGNING_SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = str(at if at is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


_ids = itertools.count(1)


def event(
    kind: str,
    channel: str,
    user: str,
    text: str,
    *,
    event_id: str | None = None,
    ts: str | None = None,
    channel_type: str = "channel",
) -> dict[str, Any]:
    number = next(_ids)
    return {
        "token": "legacy",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": event_id or f"Ev{number:08d}",
        "event_time": int(time.time()),
        "event": {
            "type": kind,
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts or f"{int(time.time())}.{number:06d}",
            "channel_type": channel_type,
        },
    }


def command(channel: str, user: str, text: str, response_url: str) -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T0001",
            "channel_id": channel,
            "user_id": user,
            "command": "/rsv",
            "text": text,
            "response_url": response_url,
            "trigger_id": f"trigger.{next(_ids)}",
            "api_app_id": "A0001",
        }
    )


def button(channel: str, user: str, value: str) -> str:
    number = next(_ids)
    body = {
        "type": "block_actions", "team": {"id": "T0001"}, "user": {"id": user},
        "api_app_id": "A0001", "token": "legacy", "trigger_id": f"trigger.{number}",
        "channel": {"id": channel}, "container": {"type": "message", "channel_id": channel},
        "message": {"ts": "1.0001", "text": "…"},
        "actions": [{"type": "button", "action_id": "rsv_0", "block_id": "b",
                     "value": value, "action_ts": f"{int(time.time())}.{number:06d}"}],
    }  # fmt: skip
    return urlencode({"payload": json.dumps(body)})
