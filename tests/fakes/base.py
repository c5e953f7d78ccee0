"""What the payment-gateway fakes (Stripe, Mercado Pago, PayPal) share: a server on 127.0.0.1,
every request recorded, and a POST repeating an idempotency key (in the gateway's own header)
answered with the first answer under that key again, unless that was a 5xx.

Faults are injected in order: the next request under a fault's path either gets the fault's
status with the gateway's error body, or (a fault with a ``delay``) waits that long and is then
answered as usual, which a client with a shorter timeout sees as a timeout. A ``lost`` fault's
request is done first (and its idempotency key's answer kept), only its answer comes late: the
gateway did it, the client never heard."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Fault:
    status: int = 500
    body: Any = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    path: str = ""
    """Only requests whose path starts with this fail."""
    lost: bool = False
    """With a ``delay``: the request is done at once, its answer sent after the delay."""


class FakeProvider:
    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._replays: dict[str, web.Response] = {}
        self.app = web.Application(middlewares=[self._middleware])
        self.server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> FakeProvider:
        self.server = TestServer(self.app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def fail(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def calls(self, method: str, prefix: str) -> int:
        return sum(1 for m, path, _ in self.requests if m == method and path.startswith(prefix))

    def idempotency_header(self) -> str | None:
        return None

    def error_body(self, status: int) -> Any:
        return {"error": status}

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.requests.append((request.method, request.path, dict(request.headers)))
        fault = next((f for f in self.faults if request.path.startswith(f.path)), None)
        if fault is not None:
            self.faults.remove(fault)
            if fault.lost:
                answer = await self._answer(request, handler)
                await asyncio.sleep(fault.delay)
                return answer
            if fault.delay:
                await asyncio.sleep(fault.delay)
            else:
                body = fault.body if fault.body is not None else self.error_body(fault.status)
                return web.json_response(body, status=fault.status, headers=fault.headers)
        return await self._answer(request, handler)

    async def _answer(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        header = self.idempotency_header()
        key = request.headers.get(header) if header and request.method == "POST" else None
        if key is not None and key in self._replays:
            cached = self._replays[key]
            return web.Response(
                body=cached.body, status=cached.status, content_type="application/json"
            )
        response = await handler(request)
        if key is not None and isinstance(response, web.Response) and response.status < 500:
            self._replays[key] = response
        return response
