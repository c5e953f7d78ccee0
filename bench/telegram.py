"""Benchmark of the Telegram webhook: updates accepted per second and the time from posting an
update to the bot's ``sendMessage``, with 500 concurrent chats on one worker.

The script starts the local Bot API server of the tests (``tests/fakes/telegram.py``) in this
process and ``rsv360 serve`` as a subprocess with ``RSV_TELEGRAM_TOKEN`` and
``RSV_TELEGRAM_API_URL`` pointing at it, then runs N chats in a closed loop: each posts an
update to ``/telegram/webhook`` (with the secret token header), waits for the first
``sendMessage`` to its chat and posts the next one. Latency is measured from just before the
POST to the arrival of ``sendMessage`` at the fake, on this process's clock. "Accepted" counts
webhook answers of 200 per second in the measuring window; the bot answers before it works
(``handle_in_background``).

Two loads: a **burst** where every chat posts its next update as soon as the webhook answered
the previous one (how many updates a second the webhook accepts; then the time until every
accepted update got its ``sendMessage``, none lost), and **paced** loads at fixed rates over all
chats, each chat waiting for its answer before its next update (the update → ``sendMessage``
latency below saturation).

    .venv/bin/python bench/telegram.py                       # memory and Redis, 500 chats, 20 s
    .venv/bin/python bench/telegram.py --backends redis --chats 500 --seconds 30
    .venv/bin/python bench/telegram.py --quick               # smoke run: 50 chats, 3 s

JSON goes to bench/results/telegram.json, a Markdown table to stdout, progress to stderr.
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
from tests.fakes.telegram import TOKEN, Call, FakeTelegram, text_update

HEADER = (
    "| backend | chats | load | updates/s | update → sendMessage p50 / p95 / p99 / max ms | lost |"
)
OUTPUT = Path(__file__).resolve().parent / "results" / "telegram.json"
SECRET = "bench-webhook-secret"


class TelegramServer(ServerBesideFake):
    """``rsv360 serve`` with the Telegram channel pointed at the local Bot API server."""

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.update(
            RSV_TELEGRAM_TOKEN=TOKEN,
            RSV_TELEGRAM_API_URL=self.fake_url,
            RSV_TELEGRAM_WEBHOOK_SECRET=SECRET,
            RSV_TELEGRAM_MODE="webhook",
        )
        return env


async def run(backend: str, scenarios: Scenarios) -> list[dict[str, Any]]:
    fake = FakeTelegram()
    waiting: dict[str, asyncio.Future[float]] = {}

    def answered(call: Call) -> None:
        future = waiting.pop(call.chat_id, None) if call.method == "sendMessage" else None
        if future is not None and not future.done():
            future.set_result(call.at)

    fake.listener = answered
    async with bot_beside_fake(fake.app(), TelegramServer, backend, scenarios) as (server, http):
        return await scenarios.run(Load(server, fake, waiting, http, scenarios.chats), backend)


class Load(ChatLoad):
    def __init__(
        self,
        server: Server,
        fake: FakeTelegram,
        waiting: dict[str, asyncio.Future[float]],
        http: aiohttp.ClientSession,
        chats: int,
    ) -> None:
        self.url = f"{server.base}/telegram/webhook"
        super().__init__(waiting, http, chats)
        self.fake = fake

    async def post(self, chat_id: int, text: str) -> bool:
        update = text_update(chat_id, text, language=None, update_id=next(self.update_ids))
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with self.http.post(self.url, json=update, headers=headers) as response:
            return response.status == 200

    def chat_id(self, number: int) -> int:
        return 10_000_000 * (self.round + 1) + number  # fresh chats per scenario

    def answers(self) -> int:
        return len(self.fake.sent("sendMessage"))

    async def wait_for_answers(self, count: int, seconds: float) -> None:
        await self.fake.wait_for("sendMessage", count, seconds=seconds)


def main() -> None:
    chat_main(__doc__.split("\n")[0], OUTPUT, HEADER, run)


if __name__ == "__main__":
    main()
