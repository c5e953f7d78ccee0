"""Staff ask in chat which alerts are open, in pt-BR, en or es, and get the firing alerts of the
history, newest first; a guest asking the same is refused, and the refusal is logged."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from actions.alerts.desk import AlertDesk
from actions.alerts.model import Alert
from bot.core.observability import configure_logging
from bot.core.types import Message, Reply
from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import Settings

QUESTIONS = [
    ("quais alertas estão abertos?", "pt-BR", "2 alertas abertos:", "reconhecido por"),
    ("open alerts?", "en", "2 open alerts:", "acknowledged by"),
    ("¿qué alertas están abiertas?", "es", "2 alertas abiertas:", "reconocido por"),
]


async def ask(runtime: Runtime, text: str, locale: str, role: str = "staff") -> Reply:
    message = Message(
        "web", f"{role}-{locale}", f"{role}-{locale}", text=text, locale_hint=locale, role=role
    )  # type: ignore[arg-type]
    result = await runtime.engine.handle(message)
    assert result.status == "handled"
    [reply] = result.replies
    return reply


async def test_staff_ask_for_the_open_alerts_and_a_guest_is_refused(
    make_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("json", "INFO")
    async with runtime_lifespan(build_runtime(make_settings()), upkeep=False) as runtime:
        desk = runtime.services.get(AlertDesk)
        gone = Alert("system", "warning", "am:disk", "Disk almost full")
        await desk.raise_alert(gone)
        await desk.raise_alert(Alert("system", "warning", "am:disk", "x", status="resolved"))
        paying = Alert("payment", "warning", "am:pay", "Payment failures above 20% at stripe")
        acknowledged = await desk.raise_alert(paying)
        await desk.acknowledge(acknowledged, "staff:slack:U0STAFF")
        forged = Alert("security", "critical", "am:forged", "Webhooks failing at stripe")
        firing = await desk.raise_alert(forged)

        for text, locale, heading, by in QUESTIONS:
            reply = await ask(runtime, text, locale)
            assert reply.text.startswith(heading), (locale, reply.text)
            lines = reply.text.splitlines()[1:]
            assert [line.split(" ")[1] for line in lines] == [f"#{firing}", f"#{acknowledged}"]
            assert "Webhooks failing at stripe" in lines[0]
            assert f"{by} staff:slack:U0STAFF" in lines[1]
            assert "Disk almost full" not in reply.text  # resolved: not open
            [acknowledge] = [button.payload for button in reply.buttons]
            assert acknowledge == f"intent:alert_ack|id={firing}"  # the one nobody took yet

        capsys.readouterr()
        refused = await ask(runtime, "open alerts?", "en", role="guest")
    assert refused.text.startswith("Sorry, that is only available to the hotel's team")
    assert "Webhooks failing" not in refused.text
    refusals = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if "intent_refused" in line
    ]
    assert [(entry["intent"], entry["role"]) for entry in refusals] == [("alerts_open", "guest")]
