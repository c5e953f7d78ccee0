"""Durable Telegram delivery lines: outboxes in a real Redis, drained by jobs on a real Redis
stream, sending through the real aiogram client to the local Bot API server.

Registered as a pytest plugin by tests/conftest.py: ``durable_lines`` makes ``DurableLine``s,
each as one process would hold it (its own job queue, outbox and metrics) on one fake Telegram.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from bot.core.observability import Metrics
from bot.core.payloads import PayloadStore
from bot.jobs.queue import JobQueue
from bot.outbound.delivery import Courier, Pace, UnreachableStore
from bot.outbound.outbox import DurableOutbox
from bot.root.jobs import delivery_job, job_queue
from bot.root.settings import Settings
from bot.stores.memory import MemoryMediaStore
from bot.stores.redis import RedisValueStore
from channels.telegram.outbound import TelegramSender
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.support.services import REDIS_URL


@dataclass
class DurableLine:
    outbox: DurableOutbox
    jobs: JobQueue
    metrics: Metrics

    def count(self, result: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "rsv_deliveries_total", {"channel": "telegram", "result": result}
        )
        return value or 0.0


@dataclass
class DurableLines:
    fake: FakeTelegram
    api_url: str
    make: Callable[..., Any]


@pytest.fixture
async def durable_lines(
    redis: Any, make_settings: Callable[..., Settings]
) -> AsyncIterator[DurableLines]:
    fake = FakeTelegram()
    server = TestServer(fake.app())
    await server.start_server()
    api_url = str(server.make_url("")).rstrip("/")
    settings = make_settings(redis_url=REDIS_URL)
    opened: list[tuple[JobQueue, Any, Bot, asyncio.Task[None] | None]] = []

    async def make(pace: Pace, work: bool = True) -> DurableLine:
        metrics = Metrics(CollectorRegistry())
        jobs, jobs_redis = job_queue(settings, metrics.loops)
        assert jobs_redis is not None
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
        values = RedisValueStore(jobs_redis)
        sender = TelegramSender(bot, PayloadStore(values), MemoryMediaStore())
        courier = Courier("telegram", sender.send, pace, metrics, UnreachableStore(values))

        async def kick(channel: str, destination: str) -> None:
            await jobs.enqueue("deliver", channel=channel, destination=destination)

        outbox = DurableOutbox(courier, jobs_redis, kick, slice_seconds=0.5)
        jobs.add(delivery_job({"telegram": outbox}))
        await jobs.start()
        working = asyncio.create_task(jobs.work()) if work else None
        opened.append((jobs, jobs_redis, bot, working))
        return DurableLine(outbox, jobs, metrics)

    yield DurableLines(fake, api_url, make)
    fake.release()
    for jobs, jobs_redis, bot, working in opened:
        if working is not None:
            jobs.stop()
            await working
        await jobs.close()
        await jobs_redis.aclose()
        await bot.session.close()
    await server.close()
