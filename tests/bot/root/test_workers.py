"""``rsv360 serve --workers 3`` as real processes on one port: a guest on the widget of one
worker, the team on Telegram reaching whichever worker, each effect delivered once; SIGTERM
closes the widget as going away; without Redis several workers are refused."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType
from aiohttp.test_utils import TestServer

from bot.root.secret import webhook_secret
from bot.root.settings import Settings
from bot.stores.database import Database
from intents.classifier import NluModel
from tests.fakes.telegram import TOKEN, FakeTelegram, button_update, text_update
from tests.support.databases import fresh_database
from tests.support.processes import bot_environment, bot_process
from tests.support.services import POSTGRESQL_URL, REDIS_URL
from tests.support.waiting import until

TEAM = -1001
STAFF = 900
SECRET = "test-widget-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening_processes(port: int) -> set[str]:
    """The pids with a listening socket on the port (from ``ss``)."""
    shown = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return {part.split(",")[0] for part in shown.split("pid=")[1:]}


@pytest.fixture
async def postgresql(tmp_path: Path) -> AsyncIterator[Database]:
    database = await fresh_database(POSTGRESQL_URL)
    yield database
    await database.close()


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram()
    server = TestServer(fake.app())
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


async def next_frame(ws: Any, seconds: float = 30.0) -> dict[str, Any]:
    while True:
        frame = await ws.receive(timeout=seconds)
        assert frame.type == WSMsgType.TEXT, (frame.type, frame.data)
        document = json.loads(frame.data)
        if document["type"] != "typing":
            return dict(document)


async def test_three_workers_share_one_port_and_each_effect_arrives_once(
    redis: Any,
    postgresql: Database,
    telegram: tuple[FakeTelegram, str],
    tmp_path: Path,
    models_dir: Path,
    intent_model: NluModel,
) -> None:
    fake, api_url = telegram
    port = free_port()
    settings = {
        "RSV_REDIS_URL": REDIS_URL,
        "RSV_DATABASE_URL": POSTGRESQL_URL,
        "RSV_DATA_DIR": str(tmp_path),
        "RSV_MODELS_DIR": str(models_dir),
        "RSV_SECRET_KEY": SECRET,
        "RSV_TELEGRAM_TOKEN": TOKEN,
        "RSV_TELEGRAM_API_URL": api_url,
        "RSV_TELEGRAM_CHAT_INTERVAL_SECONDS": "0",
        "RSV_HANDOFF_ADDRESS": f"telegram:{TEAM}",
        "RSV_STAFF_IDS": f"telegram:{STAFF}",
        "RSV_SHUTDOWN_SECONDS": "5",
    }
    secret = webhook_secret(Settings(_env_file=None, secret_key=SECRET), "telegram")
    base = f"http://127.0.0.1:{port}"
    arguments = ["serve", "--workers", "3", "--port", str(port)]
    with bot_process(arguments, settings, tmp_path / "serve.log") as serving:
        async with aiohttp.ClientSession() as http:

            async def healthy() -> bool:
                try:
                    async with http.get(f"{base}/healthz") as answer:
                        return answer.status == 200
                except aiohttp.ClientError:
                    return False

            async def team_posts(update: dict[str, Any]) -> None:
                # A new connection each time: the kernel may hand it to any of the workers.
                async with aiohttp.ClientSession() as fresh:
                    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
                    url = f"{base}/telegram/webhook"
                    async with fresh.post(url, json=update, headers=headers) as answer:
                        assert answer.status == 200

            async with asyncio.timeout(240):
                while len(listening_processes(port)) < 3 or not await healthy():  # noqa: ASYNC110
                    await asyncio.sleep(0.5)
            assert len(listening_processes(port)) == 3, serving.output()

            ws = await http.ws_connect(f"{base}/ws")
            await ws.send_json({"type": "hello", "locale": "pt-BR"})
            assert (await next_frame(ws))["type"] == "session"
            await ws.send_json({"type": "message", "text": "quero falar com um atendente"})
            await next_frame(ws)

            await until(lambda: len(fake.sent("sendMessage", str(TEAM))) == 1, seconds=60)
            [request] = fake.sent("sendMessage", str(TEAM))
            take = next(
                button["callback_data"]
                for row in request.keyboard
                for button in row
                if "Assumir" in button["text"]
            )
            await team_posts(button_update(TEAM, take, user_id=STAFF))
            assert "Uma pessoa da nossa equipe" in (await next_frame(ws))["text"]
            await team_posts(text_update(TEAM, "Oi, aqui é a Carla", user_id=STAFF))
            assert (await next_frame(ws))["text"] == "Nossa equipe: Oi, aqui é a Carla"

            await ws.send_json({"type": "message", "text": "obrigado, Carla"})
            await until(lambda: "Hóspede: obrigado, Carla" in fake.texts(str(TEAM)), seconds=60)
            await asyncio.sleep(2.0)  # a doubled effect would have arrived by now
            team = fake.texts(str(TEAM))
            assert team.count("Hóspede: obrigado, Carla") == 1, team
            assert len(fake.sent("sendMessage", str(TEAM))) == len(team)
            with pytest.raises(TimeoutError):
                print(await next_frame(ws, seconds=0.5))  # nothing more came to the guest

            assert serving.stop() == 0, serving.output()
            closing = await ws.receive(timeout=10)
            assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
            assert ws.close_code == WSCloseCode.GOING_AWAY
            await ws.close()
    assert listening_processes(port) == set()


@pytest.mark.parametrize(
    ("settings", "needed"),
    [
        ({}, "2 workers need RSV_REDIS_URL"),
        ({"RSV_REDIS_URL": "redis://127.0.0.1:1/0"}, "2 workers need RSV_DATABASE_URL"),
    ],
)
def test_several_workers_without_shared_stores_are_refused(
    tmp_path: Path, settings: dict[str, str], needed: str
) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--workers", "2"],
        env=bot_environment({"RSV_DATA_DIR": str(tmp_path), **settings}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1
    assert needed in refused.stderr
