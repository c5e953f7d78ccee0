"""A local WhatsApp Cloud API (Graph API) server: answers like graph.facebook.com for the calls
the channel makes, and signs the webhook notifications it builds the way Meta does.

- ``POST /v21.0/{phone}/messages``: text, interactive (button, list, cta_url), image and
  template messages, checked against Meta's limits (a violation is a 400 with error 131009, as
  Meta answers), and read receipts with the typing indicator;
- ``POST /v21.0/{phone}/media``: multipart upload, the bytes kept under a new media id;
- ``GET /v21.0/{media id}`` and the URL it gives: a guest's media (``incoming_media``).

Every call needs the bearer token. Tests script failures with ``fail(status, code, times)``
(the next message calls answer Meta's error body) and block recipients (131026).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from channels.whatsapp.webhook import sign

ACCESS_TOKEN = "EAAG-test-access-token"
PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "verify-me-please"
VERSION = "v21.0"
INVALID_PARAMETER = 131009
ERROR_TITLES = {
    4: "Application request limit reached",
    130429: "Rate limit hit",
    131009: "Parameter value is not valid",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131000: "Something went wrong",
}


@dataclass
class Call:
    path: str
    document: dict[str, Any]
    at: float
    message_id: str | None = None

    @property
    def to(self) -> str:
        return str(self.document.get("to", ""))

    @property
    def kind(self) -> str:
        return str(self.document.get("type", "read" if "status" in self.document else ""))

    @property
    def text(self) -> str:
        """What the guest reads: a text's body, an interactive message's body, a caption."""
        content = self.document.get(self.kind, {})
        if self.kind == "text":
            return str(content["body"])
        if self.kind == "interactive":
            return str(content["body"]["text"])
        if self.kind == "image":
            return str(content.get("caption", ""))
        return ""

    @property
    def choices(self) -> list[dict[str, str]]:
        """Reply buttons and list rows as ``{"id", "title"[, "description"]}``."""
        if self.kind != "interactive":
            return []
        action = self.document["interactive"]["action"]
        if "buttons" in action:
            return [button["reply"] for button in action["buttons"]]
        return [row for section in action.get("sections", ()) for row in section["rows"]]


@dataclass
class FakeGraph:
    calls: list[Call] = field(default_factory=list)
    uploads: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    incoming_media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)
    listener: Callable[[Call], None] | None = None
    base_url: str = ""
    _failures: list[tuple[int, int]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/{VERSION}/{{phone}}/messages", self._messages)
        app.router.add_post(f"/{VERSION}/{{phone}}/media", self._upload)
        app.router.add_get(f"/{VERSION}/{{media}}", self._media)
        app.router.add_get("/download/{media}", self._download)
        return app

    def fail(self, status: int, code: int, times: int = 1) -> None:
        self._failures.extend([(status, code)] * times)

    def sent(self, to: str | None = None, kind: str | None = None) -> list[Call]:
        return [
            call
            for call in self.calls
            if call.kind != "read"
            and (to is None or call.to == to)
            and (kind is None or call.kind == kind)
        ]

    def reads(self, typing: bool | None = None) -> list[Call]:
        return [
            call
            for call in self.calls
            if call.kind == "read"
            and (typing is None or ("typing_indicator" in call.document) == typing)
        ]

    async def wait_for(
        self, count: int, to: str | None = None, seconds: float = 10.0
    ) -> list[Call]:
        async with asyncio.timeout(seconds):
            while len(self.sent(to)) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.sent(to)

    # -- handlers ----------------------------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.Response:
        refused = _unauthorized(request) or _wrong_phone(request)
        if refused is not None:
            return refused
        try:
            document = await request.json()
        except ValueError:
            return _error(400, 100, "Invalid JSON")
        if document.get("messaging_product") != "whatsapp":
            return _error(400, 100, "messaging_product must be whatsapp")
        if document.get("status") == "read":
            self._record(Call(request.path, document, time.monotonic()))
            return web.json_response({"success": True})
        if self._failures:
            status, code = self._failures.pop(0)
            return _error(status, code, ERROR_TITLES.get(code, "error"))
        if document.get("to") in self.blocked:
            return _error(400, 131026, ERROR_TITLES[131026])
        problem = _invalid(document)
        if problem is not None:
            return _error(400, INVALID_PARAMETER, problem)
        message_id = f"wamid.HBgM{next(self._ids):08d}"
        self._record(Call(request.path, document, time.monotonic(), message_id))
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": document["to"], "wa_id": document["to"]}],
                "messages": [{"id": message_id}],
            }
        )

    async def _upload(self, request: web.Request) -> web.Response:
        refused = _unauthorized(request) or _wrong_phone(request)
        if refused is not None:
            return refused
        fields: dict[str, str] = {}
        data, content_type = b"", ""
        async for part in await request.multipart():
            if part.filename:  # type: ignore[union-attr]
                data = await part.read()  # type: ignore[union-attr]
                content_type = part.headers.get("Content-Type", "")
            else:
                fields[str(part.name)] = await part.text()  # type: ignore[union-attr]
        if fields.get("messaging_product") != "whatsapp" or not data:
            return _error(400, 100, "messaging_product and file are required")
        media_id = f"media-{next(self._ids)}"
        self.uploads[media_id] = (data, fields.get("type") or content_type)
        return web.json_response({"id": media_id})

    async def _media(self, request: web.Request) -> web.Response:
        refused = _unauthorized(request)
        if refused is not None:
            return refused
        media_id = request.match_info["media"]
        if media_id not in self.incoming_media:
            return _error(404, 100, "Unsupported get request")
        data, mime_type = self.incoming_media[media_id]
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base_url}/download/{media_id}",
                "mime_type": mime_type,
                "file_size": len(data),
                "id": media_id,
            }
        )

    async def _download(self, request: web.Request) -> web.Response:
        refused = _unauthorized(request)
        if refused is not None:
            return refused
        data, mime_type = self.incoming_media[request.match_info["media"]]
        return web.Response(body=data, content_type=mime_type.split(";")[0])

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._arrived.set()
        if self.listener is not None:
            self.listener(call)


def _unauthorized(request: web.Request) -> web.Response | None:
    if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
        return _error(401, 190, "Invalid OAuth access token")
    return None


def _wrong_phone(request: web.Request) -> web.Response | None:
    if request.match_info["phone"] != PHONE_NUMBER_ID:
        return _error(400, 100, "Unsupported post request")
    return None


def _invalid(document: dict[str, Any]) -> str | None:
    """What Meta would refuse in a message, per its documented limits."""
    kind = document.get("type")
    content = document.get(str(kind))
    if not isinstance(content, dict):
        return f"{kind} object missing"
    if kind == "text":
        return "text too long" if len(content.get("body", "")) > 4096 else None
    if kind == "image":
        return "caption too long" if len(content.get("caption", "")) > 1024 else None
    if kind == "template":
        return None if content.get("name") and content.get("language") else "template incomplete"
    if kind != "interactive":
        return f"unsupported type {kind}"
    body = content.get("body", {}).get("text", "")
    if not body or len(body) > 1024:
        return "interactive body missing or over 1024"
    action = content["action"]
    if content["type"] == "button":
        buttons = action["buttons"]
        titles = [button["reply"]["title"] for button in buttons]
        if not 1 <= len(buttons) <= 3 or any(not 1 <= len(title) <= 20 for title in titles):
            return "1 to 3 buttons of at most 20 characters"
        if len(set(titles)) != len(titles):
            return "button titles must be unique"
    elif content["type"] == "list":
        rows = [row for section in action["sections"] for row in section["rows"]]
        if not 1 <= len(rows) <= 10 or len(action["button"]) > 20:
            return "1 to 10 rows, a button label of at most 20 characters"
        for row in rows:
            if len(row["title"]) > 24 or len(row.get("description", "")) > 72:
                return "row title over 24 or description over 72 characters"
            if len(row["id"]) > 200:
                return "row id over 200 characters"
    elif content["type"] == "cta_url":
        if len(action["parameters"]["display_text"]) > 20:
            return "display_text over 20 characters"
    else:
        return f"unsupported interactive {content['type']}"
    return None


def _error(status: int, code: int, message: str) -> web.Response:
    body = {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AbCdEf",
        }
    }
    return web.json_response(body, status=status)


# -- notifications as Meta posts them ---------------------------------------------------------

_message_ids = itertools.count(1)


def notification(
    messages: Sequence[dict[str, Any]] = (), statuses: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "5511999990000", "phone_number_id": PHONE_NUMBER_ID},
    }
    if messages:
        value["contacts"] = [
            {"profile": {"name": "Ana"}, "wa_id": message.get("from")} for message in messages
        ]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-1", "changes": [{"field": "messages", "value": value}]}],
    }


def message(
    sender: str, kind: str, content: dict[str, Any], message_id: str | None = None
) -> dict[str, Any]:
    return {
        "from": sender,
        "id": message_id or f"wamid.IN{next(_message_ids):010d}",
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: content,
    }


def text(sender: str, body: str, message_id: str | None = None) -> dict[str, Any]:
    return message(sender, "text", {"body": body}, message_id)


def button_reply(sender: str, reply_id: str, title: str = "…") -> dict[str, Any]:
    return message(
        sender,
        "interactive",
        {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}},
    )


def list_reply(sender: str, reply_id: str, title: str = "…") -> dict[str, Any]:
    return message(
        sender,
        "interactive",
        {"type": "list_reply", "list_reply": {"id": reply_id, "title": title}},
    )


def voice(sender: str, media_id: str) -> dict[str, Any]:
    return message(
        sender, "audio", {"id": media_id, "mime_type": "audio/ogg; codecs=opus", "voice": True}
    )


def status(message_id: str, recipient: str, state: str, *codes: int) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": message_id,
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }
    if codes:
        document["errors"] = [{"code": code, "title": ERROR_TITLES.get(code, "")} for code in codes]
    return document


def signed_body(document: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(document).encode()
    return body, {
        "X-Hub-Signature-256": sign(body, APP_SECRET.encode()),
        "Content-Type": "application/json",
    }
