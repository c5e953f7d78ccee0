"""An alert desk on a real database, delivering to a local fake Slack (through slack_sdk) and a
real local SMTP server, on a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry
from slack_sdk.web.async_client import AsyncWebClient

from actions.alerts.desk import AlertDesk
from actions.alerts.history import AlertHistory
from actions.alerts.metrics import AlertMetrics
from actions.alerts.routing import load_routing
from actions.alerts.settings import AlertSettings
from bot.core.render import Renderer
from bot.root.settings import PACKAGE_ROOT
from bot.stores.database import Database
from channels.email import SmtpMailer, SmtpSettings
from channels.slack.alerts import SlackAlertPoster
from tests.fakes.slack import TOKEN, FakeSlack
from tests.support.clock import NOW, Clock
from tests.support.smtp import SmtpServer

ROUTING = """\
destinations:
  desk: {to: "slack:CDESK001", locale: en, timezone: America/Sao_Paulo, quiet_hours: "22:00-07:00"}
  ops: {to: "slack:COPS0001", locale: pt_BR}
  mail: {to: "email:ops@pousada.example", locale: es}
fallback: mail
routes:
  - {types: [payment, security], to: [desk, ops]}
  - {severities: [critical], to: [desk]}
  - {types: [system], to: [mail]}
"""


@dataclass
class AlertBench:
    desk: AlertDesk
    slack: FakeSlack
    inbox_server: SmtpServer
    clock: Clock
    registry: CollectorRegistry
    waits: list[float] = field(default_factory=list)

    def deliveries(self, result: str) -> float:
        value = self.registry.get_sample_value("rsv_alert_deliveries_total", {"result": result})
        return value or 0.0


def bench_settings(**overrides: object) -> AlertSettings:
    return AlertSettings.model_validate({"backoff_seconds": 1.0, "max_attempts": 3, **overrides})


@pytest.fixture
async def alert_bench(
    database: Database, smtp_server: SmtpServer, tmp_path: Path
) -> AsyncIterator[AlertBench]:
    slack = FakeSlack()
    server = TestServer(slack.app())
    await server.start_server()
    routing_file = tmp_path / "alerts.yaml"
    routing_file.write_text(ROUTING, encoding="utf-8")
    renderer = Renderer(PACKAGE_ROOT / "prompts", PACKAGE_ROOT / "locales", "pt_BR")
    clock = Clock(NOW)
    registry = CollectorRegistry()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    desk = AlertDesk(
        AlertHistory(database, 3600),
        load_routing(routing_file, "pt_BR", "America/Sao_Paulo"),
        renderer.render,
        AlertMetrics(registry),
        bench_settings(),
        clock,
        sleep,
    )
    client = AsyncWebClient(TOKEN, base_url=str(server.make_url("/api/")))
    desk.register_chat("slack", SlackAlertPoster(client))
    smtp = SmtpSettings(host=smtp_server.host, port=smtp_server.port, security="none")
    desk.connect(mailer=SmtpMailer(smtp))
    try:
        yield AlertBench(desk, slack, smtp_server, clock, registry, waits)
    finally:
        await server.close()
