"""``rsv360 worker`` as a real process: killed with SIGKILL mid-queue, nothing is lost."""

from __future__ import annotations

import asyncio
import itertools
import signal
from pathlib import Path

from bot.core.types import Reply
from bot.outbound.delivery import Pace
from intents.classifier import NluModel
from tests.fakes.telegram import TOKEN
from tests.support.durable_line import DurableLines
from tests.support.processes import bot_process
from tests.support.services import REDIS_URL
from tests.support.waiting import until

CHATS = ("6001", "6002", "6003", "6004")
EACH = 50
INTERVAL = 0.05


async def test_200_queued_messages_survive_a_killed_worker_exactly_once_in_order_paced(
    durable_lines: DurableLines, tmp_path: Path, models_dir: Path, intent_model: NluModel
) -> None:
    fake = durable_lines.fake
    fake.hold_after = 80  # the worker dies with a send in flight to every chat
    producer = await durable_lines.make(Pace(INTERVAL), work=False)
    for chat in CHATS:
        await producer.outbox.put(chat, [Reply(f"{chat}:{n}") for n in range(EACH)])
    settings = {
        "RSV_REDIS_URL": REDIS_URL,
        "RSV_DATA_DIR": str(tmp_path),
        "RSV_MODELS_DIR": str(models_dir),
        "RSV_SECRET_KEY": "test-widget-secret",
        "RSV_TELEGRAM_TOKEN": TOKEN,
        "RSV_TELEGRAM_API_URL": durable_lines.api_url,
        "RSV_TELEGRAM_CHAT_INTERVAL_SECONDS": str(INTERVAL),
        "RSV_JOBS_RECLAIM_SECONDS": "2",
    }
    with bot_process(["worker"], settings, tmp_path / "first.log") as first:
        await asyncio.to_thread(first.wait_for_output, "running jobs")
        await until(lambda: fake.held == len(CHATS), seconds=120)
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    assert len(fake.sent()) == 80
    fake.release()
    with bot_process(["worker"], settings, tmp_path / "second.log") as second:
        await until(lambda: len(fake.sent()) >= len(CHATS) * EACH, seconds=180)
        await asyncio.sleep(1.0)  # a doubled message would have arrived by now
        assert second.stop() == 0, second.output()
    assert len(fake.sent()) == len(CHATS) * EACH, "each exactly once"
    for chat in CHATS:
        calls = fake.sent("sendMessage", chat)
        assert [call.params["text"] for call in calls] == [f"{chat}:{n}" for n in range(EACH)]
        gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
        assert min(gaps) >= INTERVAL * 0.95, "paced, across the restart too"
