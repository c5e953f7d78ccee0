"""Log pseudonyms are keyed with the server's secret: a reader of the logs who tries every
booking code or Telegram id cannot find whose line it is."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest

from bot.core.types import Message
from bot.root.app import build_runtime, runtime_lifespan
from bot.root.settings import Settings

SettingsFactory = Callable[..., Settings]
TELEGRAM_ID = "123456789"


async def logged_user(settings: Settings, capsys: pytest.CaptureFixture[str]) -> str:
    """The ``user`` of the turn log line of one message from ``TELEGRAM_ID``."""
    capsys.readouterr()
    async with runtime_lifespan(build_runtime(settings), upkeep=False) as runtime:
        await runtime.engine.handle(
            Message(channel="telegram", conversation_id=TELEGRAM_ID, user_id=TELEGRAM_ID, text="oi")
        )
    [turn] = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if '"event": "turn"' in line
    ]
    return str(turn["user"])


async def test_a_telegram_id_cannot_be_found_again_from_its_pseudonym(
    make_settings: SettingsFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    first = await logged_user(make_settings(secret_key="one-server-secret"), capsys)
    again = await logged_user(make_settings(secret_key="one-server-secret"), capsys)
    elsewhere = await logged_user(make_settings(secret_key="another-server-secret"), capsys)

    assert first == again, "stable while the secret is: lines of one guest still group"
    assert elsewhere != first
    unkeyed = hashlib.sha256(TELEGRAM_ID.encode()).hexdigest()[:16]
    assert unkeyed not in (first, elsewhere), "a plain hash would give the id away"
