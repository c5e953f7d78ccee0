"""A Telegram delivery line: the real aiogram sender behind a ``DeliveryQueue``, talking to the
local Bot API server, with its own metrics.

Registered as a pytest plugin by tests/conftest.py: the ``line`` fixture makes lines of a pace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from bot.core.observability import Metrics
from bot.core.payloads import PayloadStore
from bot.core.types import Reply
from bot.outbound.delivery import Courier, DeliveryQueue, Pace, UnreachableStore
from bot.stores.memory import MemoryMediaStore, MemoryValueStore
from channels.telegram.outbound import TelegramSender
from tests.fakes.telegram import TOKEN, FakeTelegram


@dataclass
class Line:
    fake: FakeTelegram
    queue: DeliveryQueue[Reply]
    metrics: Metrics

    def count(self, result: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "rsv_deliveries_total", {"channel": "telegram", "result": result}
        )
        return value or 0.0

    def retries(self) -> float:
        value = self.metrics.registry.get_sample_value(
            "rsv_delivery_retries_total", {"channel": "telegram"}
        )
        return value or 0.0

    def throttled(self) -> float:
        value = self.metrics.registry.get_sample_value(
            "rsv_delivery_throttled_total", {"channel": "telegram"}
        )
        return value or 0.0


LineFactory = Callable[[Pace], Line]


@pytest.fixture
async def line() -> AsyncIterator[LineFactory]:
    """Lines of a given pace on one fake Telegram; their queues are closed after the test."""
    fake = FakeTelegram()
    server = TestServer(fake.app())
    await server.start_server()
    api = TelegramAPIServer.from_base(str(server.make_url("")).rstrip("/"))
    bot = Bot(TOKEN, session=AiohttpSession(api=api))
    sender = TelegramSender(bot, PayloadStore(MemoryValueStore()), MemoryMediaStore())
    queues: list[DeliveryQueue[Reply]] = []

    def make(pace: Pace) -> Line:
        metrics = Metrics(CollectorRegistry())
        unreachable = UnreachableStore(MemoryValueStore())
        courier = Courier("telegram", sender.send, pace, metrics, unreachable)
        queue = DeliveryQueue(courier, flush_seconds=0.0)
        queues.append(queue)
        return Line(fake, queue, metrics)

    yield make
    for queue in queues:
        await queue.close()
    await bot.session.close()
    await server.close()
