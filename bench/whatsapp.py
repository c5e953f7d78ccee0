"""Benchmark of the WhatsApp webhook: notifications accepted per second and the time from
posting a guest's message to the bot's message at the Graph API, with 500 concurrent guests on
one worker.

The script starts the local Graph API server of the tests (``tests/fakes/whatsapp.py``) in this
process and ``rsv360 serve`` as a subprocess with the ``RSV_WHATSAPP_*`` settings pointing at
it, then runs N guests in a closed loop: each posts a notification to ``/whatsapp/webhook``
(signed with ``X-Hub-Signature-256`` as Meta signs it), waits for the first message to its
number and posts the next one. Latency is measured from just before the POST to the arrival of
the message at the fake, on this process's clock (read receipts are not counted as answers).
Like ``bench/telegram.py``: a **burst** (every guest posts again as soon as the webhook
answered), then **paced** loads at fixed rates over all guests, each waiting for its answer.

    .venv/bin/python bench/whatsapp.py                       # memory and Redis, 500 guests, 20 s
    .venv/bin/python bench/whatsapp.py --backends redis --redis-url redis://127.0.0.1:6379/11
    .venv/bin/python bench/whatsapp.py --quick               # smoke run: 50 guests, 3 s

JSON goes to bench/results/whatsapp.json, a Markdown table to stdout, progress to stderr.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp
from chat_load import ChatLoad, Scenarios, ServerBesideFake, bot_beside_fake, chat_main
from load import Server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fakes import whatsapp as meta
from tests.fakes.whatsapp import Call, FakeGraph

HEADER = (
    "| backend | guests | load | messages/s | message → answer p50 / p95 / p99 / max ms | lost |"
)
OUTPUT = Path(__file__).resolve().parent / "results" / "whatsapp.json"


class WhatsAppServer(ServerBesideFake):
    """``rsv360 serve`` with the WhatsApp channel pointed at the local Graph API server."""

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.update(
            RSV_WHATSAPP_ACCESS_TOKEN=meta.ACCESS_TOKEN,
            RSV_WHATSAPP_PHONE_NUMBER_ID=meta.PHONE_NUMBER_ID,
            RSV_WHATSAPP_APP_SECRET=meta.APP_SECRET,
            RSV_WHATSAPP_VERIFY_TOKEN=meta.VERIFY_TOKEN,
            RSV_WHATSAPP_API_URL=f"{self.fake_url}/{meta.VERSION}",
        )
        return env


async def run(backend: str, scenarios: Scenarios) -> list[dict[str, Any]]:
    fake = FakeGraph()
    waiting: dict[str, asyncio.Future[float]] = {}

    def answered(call: Call) -> None:
        future = waiting.pop(call.to, None) if call.kind != "read" else None
        if future is not None and not future.done():
            future.set_result(call.at)

    fake.listener = answered
    async with bot_beside_fake(fake.app(), WhatsAppServer, backend, scenarios) as (server, http):
        fake.base_url = server.fake_url
        return await scenarios.run(Load(server, fake, waiting, http, scenarios.chats), backend)


class Load(ChatLoad):
    def __init__(
        self,
        server: Server,
        fake: FakeGraph,
        waiting: dict[str, asyncio.Future[float]],
        http: aiohttp.ClientSession,
        chats: int,
    ) -> None:
        self.url = f"{server.base}/whatsapp/webhook"
        super().__init__(waiting, http, chats)
        self.fake = fake

    async def post(self, chat_id: int, text: str) -> bool:
        message_id = f"wamid.bench{next(self.update_ids)}"
        document = meta.notification([meta.text(str(chat_id), text, message_id)])
        body, headers = meta.signed_body(document)
        async with self.http.post(self.url, data=body, headers=headers) as response:
            return response.status == 200

    def chat_id(self, number: int) -> int:
        return 5511_000_000_000 + 10_000_000 * (self.round + 1) + number  # fresh guests each time

    def answers(self) -> int:
        return len(self.fake.sent())

    async def wait_for_answers(self, count: int, seconds: float) -> None:
        await self.fake.wait_for(count, seconds=seconds)


def main() -> None:
    chat_main(__doc__.split("\n")[0], OUTPUT, HEADER, run)


if __name__ == "__main__":
    main()
