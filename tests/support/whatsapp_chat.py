"""A guest on WhatsApp: the bot with its WhatsApp channel against the local Graph API fake
(and Mercado Pago's, for Pix), notifications posted to the webhook signed as Meta signs them,
and what the guest's phone received."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.root.app import PROVIDER_CHANNELS, build_runtime, create_app
from bot.root.settings import Settings
from channels.whatsapp.channel import WhatsAppChannel
from channels.whatsapp.registration import WEBHOOK_PATH
from tests.fakes import whatsapp as meta
from tests.fakes.mercadopago import FakeMercadoPago
from tests.fakes.whatsapp import Call, FakeGraph
from tests.support.routers import staff_router

GUEST = "5511987650001"


@dataclass
class WhatsApp:
    client: TestClient
    graph: FakeGraph
    channel: WhatsAppChannel
    runtime: Any
    mercadopago: FakeMercadoPago

    async def post(self, document: Any, signature: str | None = None) -> int:
        body, headers = meta.signed_body(document)
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        response = await self.client.post(WEBHOOK_PATH, data=body, headers=headers)
        return response.status

    async def deliver(self, *messages: dict[str, Any]) -> int:
        return await self.post(meta.notification(list(messages)))

    async def says(self, text: str, guest: str = GUEST) -> list[Call]:
        """The guest writes; what their phone received in answer."""
        return await self.turn(meta.text(guest, text), guest)

    async def chooses(self, title: str, guest: str = GUEST) -> list[Call]:
        """The guest taps a reply button or list row of the bot's last messages."""
        for call in reversed(self.graph.sent(guest)):
            for choice in call.choices:
                shown = (choice["title"], choice.get("description", ""))
                if any(text.startswith(title) for text in shown):
                    listed = call.document["interactive"]["type"] == "list"
                    reply = meta.list_reply if listed else meta.button_reply
                    return await self.turn(reply(guest, choice["id"], choice["title"]), guest)
        raise AssertionError(
            f"no choice {title!r} in {[c.choices for c in self.graph.sent(guest)]}"
        )

    async def turn(self, message: dict[str, Any], guest: str = GUEST) -> list[Call]:
        before = len(self.graph.sent(guest))
        assert await self.deliver(message) == 200
        await self.settle()
        return self.graph.sent(guest)[before:]

    async def settle(self) -> None:
        await self.channel.drain()
        await self.channel._queue.join()
        await self.channel.drain()  # a status may have queued a template meanwhile

    def link(self, guest: str = GUEST) -> dict[str, Any]:
        """The last call-to-action URL button the guest got."""
        for call in reversed(self.graph.sent(guest, "interactive")):
            if call.document["interactive"]["type"] == "cta_url":
                return dict(call.document["interactive"]["action"]["parameters"])
        raise AssertionError("no link button")


def texts(calls: list[Call]) -> list[str]:
    return [call.text for call in calls]


@asynccontextmanager
async def open_whatsapp(
    aiohttp_client: Any, settings_factory: Callable[..., Settings], **overrides: Any
) -> AsyncIterator[WhatsApp]:
    """The bot with WhatsApp on the fake Graph API and Mercado Pago (Pix) on its fake."""
    graph, mercadopago = FakeGraph(), FakeMercadoPago()
    server = TestServer(graph.app())
    await server.start_server()
    await mercadopago.start()
    graph.base_url = str(server.make_url("")).rstrip("/")
    whatsapp = {
        "access_token": meta.ACCESS_TOKEN,
        "phone_number_id": meta.PHONE_NUMBER_ID,
        "app_secret": meta.APP_SECRET,
        "verify_token": meta.VERIFY_TOKEN,
        "number": "5511999990000",
        "api_url": f"{graph.base_url}/{meta.VERSION}",
        "recipient_interval_seconds": 0.0,
        **overrides.pop("whatsapp", {}),
    }
    settings = settings_factory(
        whatsapp=whatsapp,
        mercadopago={
            "access_token": "TEST-whatsapp",
            "webhook_secret": mercadopago.webhook_secret,
            "api_base": mercadopago.url,
        },
        payment={"routes": ["BRL=mercadopago"]},
        **overrides,
    )
    runtime = build_runtime(settings, override=staff_router())
    client = await aiohttp_client(create_app(settings, runtime))
    try:
        channel = client.app[PROVIDER_CHANNELS]["whatsapp"]
        yield WhatsApp(client, graph, channel, runtime, mercadopago)
    finally:
        await server.close()
        await mercadopago.close()
