"""Payment gateways calling us: ``POST /webhooks/payments/{gateway}`` and the browser's return.

The adapter only translates: the raw body and headers go to a ``WebhookDesk`` that the
composition root passes in (the gateways verify signatures, the payments domain stores and
applies). It answers as providers expect: 200 once the event is stored (or was already),
400 for a signature that does not verify, a stale timestamp or a malformed body, 404 for an
unknown gateway, 503 when the verification itself could not be done (the provider retries).

``GET /payments/return/{gateway}/{token}`` is where the payer's browser comes back: the desk
looks the payment up at the gateway (PayPal captures the approved order there) and the page
says how it stands, like the sandbox checkout's result page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from aiohttp import web

from bot.core.render import Renderer
from bot.core.types import Outcome
from channels.checkout import HEADERS, STYLESHEET, CheckoutView

MAX_BODY_BYTES = 256 * 1024

STATUS: dict[str, int] = {
    "accepted": 200,
    "duplicate": 200,
    "ignored": 200,
    "rejected": 400,
    "unknown_gateway": 404,
    "unavailable": 503,
}


class WebhookDesk(Protocol):
    async def receive(self, gateway: str, headers: Mapping[str, str], body: bytes) -> str:
        """Verify and store one notification; apply it later. The result is one of ``STATUS``'s
        keys (the payments desk's ``Received``)."""

    async def returned(
        self, gateway: str, token: str, query: Mapping[str, str]
    ) -> CheckoutView | None:
        """The payment of a signed return link as the gateway now tells it; None for a
        forged or outdated link."""


class PaymentWebhooks:
    def __init__(self, desk: WebhookDesk, renderer: Renderer) -> None:
        self._desk = desk
        self._renderer = renderer

    def mount(self, app: web.Application) -> None:
        app.router.add_post("/webhooks/payments/{gateway}", self._webhook)
        app.router.add_get("/payments/return/{gateway}/{token}", self._return)

    async def _webhook(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return web.json_response({"error": "too_large"}, status=413)
        body = await request.content.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            return web.json_response({"error": "too_large"}, status=413)
        result = await self._desk.receive(request.match_info["gateway"], request.headers, body)
        return web.json_response({"result": result}, status=STATUS[result])

    async def _return(self, request: web.Request) -> web.Response:
        checkout = await self._desk.returned(
            request.match_info["gateway"], request.match_info["token"], request.query
        )
        if checkout is None:
            page = self._renderer.render(
                Outcome("checkout/not_found", {"stylesheet": STYLESHEET}),
                self._renderer.locale_for(None),
                "html",
            )
            return web.Response(
                text=page.text,
                status=404,
                content_type="text/html",
                charset="utf-8",
                headers=HEADERS,
            )
        status = "failed" if checkout.status == "payable" else checkout.status
        values = {**checkout.values, "status": status, "stylesheet": STYLESHEET, "page_url": ""}
        page = self._renderer.render(Outcome("checkout/result", values), checkout.locale, "html")
        return web.Response(
            text=page.text, content_type="text/html", charset="utf-8", headers=HEADERS
        )
