"""Staff capabilities reached through Slack: a forecast answered with its chart uploaded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.root.settings import Settings
from tests.support.forecasts import PNG_SIGNATURE
from tests.support.slack_desk import GUEST, STAFF, Desk, open_desk


@pytest.fixture
async def desk(
    aiohttp_client: Any, backend_settings: Callable[..., Settings], trained: Path
) -> AsyncIterator[Desk]:
    async with open_desk(
        aiohttp_client, backend_settings, forecast={"models_dir": trained}
    ) as opened:
        yield opened


async def test_staff_ask_for_a_forecast_in_slack_and_get_the_chart_uploaded(desk: Desk) -> None:
    question = "previsão de ocupação de dezembro na Pousada do Mar"
    answer = await desk.event("DSTAFF01", STAFF, question)
    assert "Previsão de ocupação da Pousada do Mar" in answer[-1].params["text"]
    [upload] = desk.slack.sent("upload")
    assert upload.params["bytes"].startswith(PNG_SIGNATURE)
    [complete] = desk.slack.sent("files.completeUploadExternal")
    assert complete.params["channel_id"] == "DSTAFF01"

    refused = await desk.event("DGUEST09", GUEST, question)
    assert "só para a equipe do hotel" in refused[-1].params["text"]
    assert len(desk.slack.sent("upload")) == 1
