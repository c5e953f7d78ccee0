"""A local Telegram Bot API server: answers like api.telegram.org for the methods we call.

Calls arrive as ``POST /bot{token}/{method}`` (form-encoded, or multipart for uploads) and are
recorded with their arrival time. Tests script failures: ``fail(method, status, times)`` answers
the next calls with Telegram's error bodies (429 carries ``parameters.retry_after``), and chats
in ``blocked`` answer 403 as for a user who blocked the bot. ``updates`` are what getUpdates
hands out from its ``offset`` on, for the polling mode. ``files`` are what users sent (voice
notes), by file id: ``getFile`` describes one and ``/file/bot{token}/{path}`` serves it.
``messages`` hold each sent text message as it stands: ``editMessageText`` changes one, and
answers Telegram's 400s for a message it does not know or an edit that changes nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7000001
TOKEN = f"{BOT_ID}:AAE-test-token-for-the-local-bot-api"
NOT_FOUND = "Bad Request: message to edit not found"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
ERRORS = {
    400: "Bad Request: message text is empty",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    file: bytes | None = None

    @property
    def chat_id(self) -> str:
        return str(self.params.get("chat_id"))

    @property
    def keyboard(self) -> list[list[dict[str, Any]]]:
        markup = self.params.get("reply_markup")
        return json.loads(markup)["inline_keyboard"] if markup else []


@dataclass
class FakeTelegram:
    calls: list[Call] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    updates: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    retry_after: int = 1
    listener: Callable[[Call], None] | None = None
    """Called with each recorded call (the benchmark times answers with it)."""
    hold_after: int | None = None
    """Once this many messages were sent, later sends hang unanswered (and unrecorded) until
    ``release``: a process killed meanwhile has a call in flight that never happened."""
    held: int = 0
    messages: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    """Sent text messages by (chat id, message id): their ``text`` and ``reply_markup`` now."""
    _failures: dict[str, list[int]] = field(default_factory=dict)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.hold_after = None
        self._released.set()

    def fail(self, method: str, status: int, times: int = 1) -> None:
        self._failures.setdefault(method, []).extend([status] * times)

    def sent(self, method: str = "sendMessage", chat_id: str | None = None) -> list[Call]:
        return [
            call
            for call in self.calls
            if call.method == method and (chat_id is None or call.chat_id == chat_id)
        ]

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [call.params["text"] for call in self.sent("sendMessage", chat_id)]

    async def wait_for(self, method: str, count: int, seconds: float = 10.0) -> list[Call]:
        """The first ``count`` calls of a method, waiting for them to arrive."""
        async with asyncio.timeout(seconds):
            while len(self.sent(method)) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.sent(method)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(r"/bot{token}/{method}", self._handle)
        app.router.add_get(r"/file/bot{token}/voice/{file_id}.oga", self._file)
        return app

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return _error(401, "Unauthorized")
        data = self.files.get(request.match_info["file_id"])
        if data is None:
            return _error(404, "Not Found")
        return web.Response(body=data, content_type="audio/ogg")

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, file = await _params(request)
        if method == "getUpdates":
            return await self._get_updates(params)
        call = Call(method, params, time.monotonic(), file)
        failures = self._failures.get(method)
        if failures:
            status = failures.pop(0)
            return _error(
                status,
                ERRORS[status].format(retry_after=self.retry_after),
                {"retry_after": self.retry_after} if status == 429 else None,
            )
        if call.chat_id in self.blocked and method.startswith("send"):
            return _error(403, ERRORS[403])
        if method == "editMessageText":
            refused = self._edit_refused(params)
            if refused is not None:
                return _error(400, refused)
        if self.hold_after is not None and len(self.sent()) >= self.hold_after:
            self.held += 1
            self._arrived.set()
            await self._released.wait()
            self.held -= 1
            return _error(502, ERRORS[502])  # the caller is gone; nothing was delivered
        self.calls.append(call)
        self._arrived.set()
        if self.listener is not None:
            self.listener(call)
        return web.json_response({"ok": True, "result": self._result(method, params)})

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset", 0))
        ready = [update for update in self.updates if update["update_id"] >= offset]
        if not ready:
            await asyncio.sleep(0.05)
        return web.json_response({"ok": True, "result": ready})

    def _edit_refused(self, params: dict[str, Any]) -> str | None:
        """Why Telegram refuses this edit, if it does; else the message is changed."""
        key = (str(params.get("chat_id")), int(params.get("message_id", 0)))
        current = self.messages.get(key)
        if current is None:
            return NOT_FOUND
        edited = {"text": params["text"], "reply_markup": params.get("reply_markup")}
        if edited == current:
            return NOT_MODIFIED
        self.messages[key] = edited
        return None

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getFile":
            file_id = str(params["file_id"])
            if file_id not in self.files:
                return None
            return {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": len(self.files[file_id]),
                "file_path": f"voice/{file_id}.oga",
            }
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "RSV", "username": "rsv360_bot"}
        if method in ("sendMessage", "sendPhoto"):
            chat = int(params["chat_id"])
            message: dict[str, Any] = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
            }
            if method == "sendMessage":
                message["text"] = params["text"]
                self.messages[(str(chat), message["message_id"])] = {
                    "text": params["text"],
                    "reply_markup": params.get("reply_markup"),
                }
            else:
                message["photo"] = [
                    {"file_id": "f1", "file_unique_id": "u1", "width": 1, "height": 1}
                ]
            return message
        if method == "editMessageText":  # the edited message, as Telegram answers a bot's edit
            return {
                "message_id": int(params["message_id"]),
                "date": int(time.time()),
                "edit_date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "supergroup", "title": "staff"},
                "text": params["text"],
            }
        return True


async def _params(request: web.Request) -> tuple[dict[str, Any], bytes | None]:
    if request.content_type.startswith("multipart/"):
        params: dict[str, Any] = {}
        file = None
        reader = await request.multipart()
        async for part in reader:
            if part.filename:  # type: ignore[union-attr]
                file = await part.read()  # type: ignore[union-attr]
            else:
                params[part.name] = await part.text()  # type: ignore[union-attr]
        return params, file
    if request.content_type == "application/json":
        return await request.json(), None
    return dict(await request.post()), None  # type: ignore[arg-type]


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


_update_ids = itertools.count(100_000)


def text_update(
    chat_id: int,
    text: str,
    language: str | None = "pt-br",
    user_id: int | None = None,
    update_id: int | None = None,
) -> dict[str, Any]:
    """An update as Telegram posts it for a private text message."""
    user = {"id": user_id or chat_id, "is_bot": False, "first_name": "Ana"}
    if language:
        user["language_code"] = language
    return {
        "update_id": update_id if update_id is not None else next(_update_ids),
        "message": {
            "message_id": next(_update_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Ana"},
            "from": user,
            "text": text,
        },
    }


def button_update(
    chat_id: int, data: str, language: str | None = "pt-br", user_id: int | None = None
) -> dict[str, Any]:
    """An update for a press on an inline keyboard button of one of the bot's messages."""
    user = {"id": user_id or chat_id, "is_bot": False, "first_name": "Ana"}
    if language:
        user["language_code"] = language
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": user,
            "chat_instance": "ci-1",
            "data": data,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "RSV"},
                "text": "…",
            },
        },
    }


def voice_update(
    chat_id: int, file_id: str, size: int, seconds: int = 3, language: str | None = "pt-br"
) -> dict[str, Any]:
    """An update for a voice message the user recorded."""
    update = text_update(chat_id, "", language)
    message = update["message"]
    del message["text"]
    message["voice"] = {
        "file_id": file_id,
        "file_unique_id": f"u-{file_id}",
        "duration": seconds,
        "mime_type": "audio/ogg",
        "file_size": size,
    }
    return update
