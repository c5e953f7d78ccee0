"""The web widget's protocol over ``/ws``, spoken by a test: JSON frames, a session from a
hello, and a conversation turn by turn."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

TIMEOUT = 5.0
"""Seconds a test waits for a frame: a turn takes milliseconds, the first NLU load longer."""
Socket = Any  # aiohttp.ClientWebSocketResponse


async def receive(ws: Socket) -> dict[str, Any]:
    """The next frame, which must be a JSON object."""
    frame = await ws.receive(timeout=TIMEOUT)
    assert frame.type == WSMsgType.TEXT, (frame.type, frame.data, ws.close_code)
    document = json.loads(frame.data)
    assert isinstance(document, dict)
    return document


@dataclass
class Chat:
    """One widget conversation over ``/ws``."""

    ws: Socket
    token: str
    conversation_id: str
    last: dict[str, Any] = field(default_factory=dict)

    async def says(self, text: str) -> str:
        return await self._turn({"type": "message", "text": text})

    async def presses(self, title: str) -> str:
        button = next(b for b in self.last["buttons"] if b["title"].startswith(title))
        return await self._turn({"type": "button", "payload": button["payload"]})

    def link(self) -> str:
        return str(next(b["url"] for b in self.last["buttons"] if "url" in b))

    async def _turn(self, frame: dict[str, Any]) -> str:
        await self.ws.send_json(frame)
        assert await receive(self.ws) == {"type": "typing"}
        self.last = await receive(self.ws)
        assert self.last["type"] == "message", self.last
        return str(self.last["text"])


async def open_chat(client: TestClient, token: str | None = None) -> Chat:
    """A pt-BR widget session: a new conversation, or the one ``token`` resumes."""
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "hello", "locale": "pt-BR", **({"token": token} if token else {})})
    session = await receive(ws)
    assert session["type"] == "session", session
    return Chat(ws, session["token"], session["conversation_id"])
