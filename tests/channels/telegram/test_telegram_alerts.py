"""Alerts on Telegram through the running bot: one message per alert in the staff's group,
edited in place (``editMessageText``) when it repeats, is acknowledged or resolves, against the
local Bot API server (tests/fakes/telegram.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from actions.alerts.desk import AlertDesk
from actions.alerts.model import Alert
from bot.core.types import Reply
from bot.root.app import PROVIDER_CHANNELS, build_runtime, create_app
from bot.root.secret import webhook_secret
from bot.root.settings import Settings
from channels.telegram.alerts import TelegramAlertPoster
from channels.telegram.channel import TelegramChannel
from channels.telegram.registration import WEBHOOK_PATH
from tests.fakes.telegram import TOKEN, FakeTelegram, button_update

GROUP = "-1001234567890"
STAFF_USER = 4242
DISK = Alert("system", "warning", "am:disk", "Disk almost full", details="95% used")


@dataclass
class StaffGroup:
    client: TestClient
    fake: FakeTelegram
    channel: TelegramChannel
    desk: AlertDesk
    runtime: Any

    async def raised(self, alert: Alert) -> int:
        alert_id = await self.desk.raise_alert(alert)
        await self.runtime.jobs.settled()
        return alert_id

    async def presses(self, data: str, user: int = STAFF_USER) -> None:
        headers = {
            "X-Telegram-Bot-Api-Secret-Token": webhook_secret(self.runtime.settings, "telegram")
        }
        update = button_update(int(GROUP), data, user_id=user)
        assert (await self.client.post(WEBHOOK_PATH, json=update, headers=headers)).status == 200
        await self.channel.drain()
        await self.runtime.jobs.settled()

    def edits(self) -> list[Any]:
        return self.fake.sent("editMessageText", GROUP)


@pytest.fixture
async def group(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> AsyncIterator[StaffGroup]:
    fake = FakeTelegram()
    server = TestServer(fake.app())
    await server.start_server()
    settings = make_settings(
        staff_ids=[f"telegram:{STAFF_USER}"],
        staff_alerts=f"telegram:{GROUP}",
        alerts={"update_seconds": 0},
        telegram={"token": TOKEN, "api_url": str(server.make_url("")).rstrip("/")},
    )
    runtime = build_runtime(settings)
    app = create_app(settings, runtime)
    client = await aiohttp_client(app)
    desk = runtime.services.get(AlertDesk)
    yield StaffGroup(client, fake, app[PROVIDER_CHANNELS]["telegram"], desk, runtime)
    await runtime.jobs.settled()
    await server.close()


async def test_an_alert_is_one_message_edited_in_place_as_it_repeats_and_resolves(
    group: StaffGroup,
) -> None:
    await group.raised(DISK)
    [sent] = group.fake.sent("sendMessage", GROUP)
    assert sent.params["text"].startswith("🟠 Sistema · atenção: Disk almost full")
    titles = [row[0]["text"] for row in sent.keyboard]
    assert titles == ["Reconhecer", "Silenciar 1 h", "Silenciar 24 h"]
    [(_, message_id)] = list(group.fake.messages)

    await group.raised(DISK)
    await group.raised(Alert("system", "warning", "am:disk", "Disk almost full", status="resolved"))
    assert len(group.fake.sent("sendMessage", GROUP)) == 1
    repeated, resolved = group.edits()
    assert {int(repeated.params["message_id"]), int(resolved.params["message_id"])} == {message_id}
    assert "Disparado 2 vezes" in repeated.params["text"]
    assert resolved.params["text"].startswith("✅ Resolvido")
    assert resolved.keyboard == []  # nothing to press on a resolved alert
    assert group.fake.messages[(GROUP, message_id)]["text"] == resolved.params["text"]


async def test_staff_acknowledge_from_the_message_and_it_shows_who(group: StaffGroup) -> None:
    await group.raised(DISK)
    [sent] = group.fake.sent("sendMessage", GROUP)
    acknowledge = sent.keyboard[0][0]["callback_data"]
    await group.presses(acknowledge, user=1005)  # a guest in the group: refused
    assert group.edits() == []
    assert "só para a equipe do hotel" in group.fake.texts(GROUP)[-1]

    await group.presses(acknowledge)
    assert "Alerta nº 1 reconhecido" in group.fake.texts(GROUP)[-1]
    [acknowledged] = group.edits()
    assert f"Reconhecido por staff:telegram:{STAFF_USER}." in acknowledged.params["text"]
    assert acknowledged.keyboard[0][0]["text"] == "Silenciar 1 h"


async def test_a_deleted_alert_message_is_sent_again_and_an_unchanged_edit_is_done(
    group: StaffGroup,
) -> None:
    await group.raised(DISK)
    [(chat, first)] = list(group.fake.messages)
    del group.fake.messages[(chat, first)]  # a staff member deleted it
    await group.raised(DISK)
    [_, again] = group.fake.sent("sendMessage", GROUP)
    assert "Disparado 2 vezes" in again.params["text"]
    await group.raised(DISK)
    [edited] = group.edits()  # the first edit found no message: it was sent again instead
    assert int(edited.params["message_id"]) == int(first) + 1
    assert "Disparado 3 vezes" in edited.params["text"]


async def test_an_edit_that_changes_nothing_is_done(group: StaffGroup) -> None:
    poster = TelegramAlertPoster(group.channel.sender)
    reply = Reply("Disk <almost> full")
    ref = await poster.post(GROUP, reply)
    assert ref is not None
    assert await poster.edit(GROUP, ref, reply) == ref  # Telegram: "message is not modified"
    assert group.fake.messages[(GROUP, int(ref))]["text"] == "Disk &lt;almost&gt; full"
