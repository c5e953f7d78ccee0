"""The shipped monitoring stack for real, around a real bot: Debian's ``prometheus`` and
``prometheus-alertmanager`` on loopback ports with deploy/'s rules and configs, paced by a test
overlay; the bot (``create_app``) served on a loopback port, its Slack on the local fake and its
e-mail on a local aiosmtpd server. Shared by tests/test_alerting_end_to_end.py and
bench/alerting.py.

The overlay changes only the pace (scrape and evaluation intervals, each rule's ``for``,
Alertmanager's group_wait and group_interval), the addresses, and one rule's range window (see
``WINDOW``); everything else is the shipped files."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import stripe
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller

from bot.root.app import create_app
from bot.root.settings import PACKAGE_ROOT, Settings
from tests.fakes.slack import SIGNING_SECRET, TOKEN, FakeSlack
from tests.support.smtp import Inbox, free_port

DEPLOY = PACKAGE_ROOT / "deploy"
OPS_TOKEN = "scrape-token-0123456789"
RECEIVER_TOKEN = "am-token-0123456789"
SLACK_CHANNEL = "CSEC0001"
MAILBOX = "security@pousada.example"
RULE = "WebhookVerificationFailures"
ROUTING = f"""\
destinations:
  desk: {{to: "slack:{SLACK_CHANNEL}", locale: en}}
  mail: {{to: "email:{MAILBOX}", locale: en}}
routes:
  - {{types: [security], to: [desk, mail]}}
"""


@dataclass(frozen=True)
class Pace:
    scrape: int
    evaluation: int
    pending: int
    """The ``for`` of every rule (capped: a shorter shipped ``for`` stays)."""
    group_wait: int
    group_interval: int


OVERLAY = Pace(scrape=1, evaluation=1, pending=2, group_wait=1, group_interval=1)
WINDOW = "10s"
"""The shipped rule counts forged webhooks over 5 minutes, so it would resolve only 5 minutes
after the last one; the overlay shortens that window (in a copy of the rules file) so that the
alert resolves within seconds. Its threshold and everything else stay as shipped."""


def seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = int(duration[:-1]), duration[-1]
    return number * units[unit]


def shipped_pace(severity: str = "critical") -> Pace:
    """The production pace of the alert this scenario raises, read from deploy/."""
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["global"]
    rule = shipped_rule()
    route = next(
        r
        for r in yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())[
            "route"
        ]["routes"]
        if r["matchers"] == [f'severity="{severity}"']
    )
    return Pace(
        scrape=seconds(prometheus["scrape_interval"]),
        evaluation=seconds(prometheus["evaluation_interval"]),
        pending=seconds(rule.get("for", "0s")),
        group_wait=seconds(route["group_wait"]),
        group_interval=seconds(route["group_interval"]),
    )


def shipped_rule() -> dict[str, Any]:
    for path in sorted((DEPLOY / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == RULE:
                    return dict(rule)
    raise LookupError(RULE)


def prometheus_overlay(directory: Path, bot: str, alertmanager: str) -> Path:
    """deploy/prometheus copied to ``directory`` with the overlay's pace and these targets."""
    shutil.copytree(DEPLOY / "prometheus", directory)
    (directory / "secrets").mkdir()
    (directory / "secrets" / "ops-token").write_text(OPS_TOKEN)
    config_file = directory / "prometheus.yml"
    config = yaml.safe_load(config_file.read_text())
    config["global"].update(
        scrape_interval=f"{OVERLAY.scrape}s",
        evaluation_interval=f"{OVERLAY.evaluation}s",
        scrape_timeout=f"{OVERLAY.scrape}s",
    )
    config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [alertmanager]}]
    targets = {"rsv360": bot, "alertmanager": alertmanager}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    shipped_window = False
    for rules_file in (directory / "rules").glob("*.yml"):
        document = yaml.safe_load(rules_file.read_text())
        for group in document["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = f"{min(seconds(rule['for']), OVERLAY.pending)}s"
                if rule.get("alert") == RULE:
                    assert "[5m]" in rule["expr"], "the shipped window moved: update WINDOW"
                    rule["expr"] = rule["expr"].replace("[5m]", f"[{WINDOW}]")
                    shipped_window = True
        rules_file.write_text(yaml.safe_dump(document, sort_keys=False))
    assert shipped_window, f"{RULE} not found in the shipped rules"
    return config_file


def alertmanager_overlay(directory: Path, receiver_url: str) -> Path:
    """deploy/alertmanager copied to ``directory``, its receiver at ``receiver_url``, paced by
    the overlay (repeat intervals stay as shipped)."""
    shutil.copytree(DEPLOY / "alertmanager", directory)
    (directory / "secrets").mkdir()
    (directory / "secrets" / "bot-token").write_text(RECEIVER_TOKEN)
    config_file = directory / "alertmanager.yml"
    config = yaml.safe_load(config_file.read_text())
    for route in [config["route"], *config["route"]["routes"]]:
        route.update(
            group_wait=f"{OVERLAY.group_wait}s", group_interval=f"{OVERLAY.group_interval}s"
        )
    [webhook] = config["receivers"][0]["webhook_configs"]
    webhook["url"] = receiver_url
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    return config_file


async def until(done: Callable[[], bool], seconds: float, what: str) -> None:
    """Polls ``done`` until it holds; fails after ``seconds`` naming ``what``."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {seconds} s")
        await asyncio.sleep(0.05)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def ready(url: str, process: asyncio.subprocess.Process, log: Path) -> None:
    """Until ``url`` answers 200 (the process's log in the error when it dies first)."""
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"{url}: the server exited: {tail(log)}")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} not ready: {tail(log)}")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def running(command: list[str], log: Path, ready_url: str) -> AsyncIterator[None]:
    """A server process, stopped (killed when it lingers) whatever happens."""
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=output, stderr=asyncio.subprocess.STDOUT
        )
    try:
        await ready(ready_url, process, log)
        yield
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


@dataclass
class Stack:
    bot: str
    """The bot's base URL."""
    slack: FakeSlack
    inbox: Inbox
    prometheus: str
    alertmanager: str
    logs: Path
    """Where prometheus.log and alertmanager.log are (under the test's tmp_path), when a wait
    fails."""

    def posted(self) -> list[Any]:
        return self.slack.sent("chat.postMessage", SLACK_CHANNEL)

    def updated(self) -> list[Any]:
        return self.slack.sent("chat.update", SLACK_CHANNEL)


def bot_settings(base: dict[str, Any], port: int, slack_api: str, smtp_port: int) -> Settings:
    """The bot under watch: /metrics behind the ops token, the Alertmanager receiver behind its
    token, security alerts routed to the fake Slack and the local SMTP server, and Stripe on
    (its webhook route exists only for a configured gateway; forged webhooks never reach its
    API, so the API address is a closed port)."""
    data_dir = Path(base["data_dir"])
    data_dir.mkdir(parents=True, exist_ok=True)
    routing_file = data_dir / "alerts.yaml"
    routing_file.write_text(ROUTING, encoding="utf-8")
    values = {
        **base,
        "host": "127.0.0.1",
        "port": port,
        "ops_token": OPS_TOKEN,
        "alerts": {
            "routing_file": routing_file,
            "alertmanager_token": RECEIVER_TOKEN,
            "runbook_base_url": "https://git.example/rsv360/blob/main/",
        },
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none"},
        "slack": {"bot_token": TOKEN, "signing_secret": SIGNING_SECRET, "api_url": slack_api},
        "stripe": {
            "api_key": "sk_test_watch",
            "webhook_secret": "whsec_the_real_one",
            "api_base": f"http://127.0.0.1:{free_port()}",
        },
        "payment": {"routes": ["BRL=stripe"]},
    }
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def alerting_stack(directory: Path, base: dict[str, Any]) -> AsyncIterator[Stack]:
    """Everything up, on loopback, under ``directory``; ``base`` are the bot's own settings
    (data and models directories, secret key). All of it is stopped on the way out."""
    async with AsyncExitStack() as stack:
        slack = FakeSlack()
        slack_server = TestServer(slack.app(), host="127.0.0.1")
        await slack_server.start_server()
        stack.push_async_callback(slack_server.close)

        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
        controller.start()
        stack.callback(controller.stop)

        bot_port, prometheus_port, alertmanager_port = free_port(), free_port(), free_port()
        settings = bot_settings(
            base, bot_port, str(slack_server.make_url("/api/")), controller.port
        )
        runner = web.AppRunner(create_app(settings))
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, "127.0.0.1", bot_port).start()
        bot = f"http://127.0.0.1:{bot_port}"

        alertmanager = f"127.0.0.1:{alertmanager_port}"
        am_config = alertmanager_overlay(directory / "alertmanager", f"{bot}/alerts/alertmanager")
        await stack.enter_async_context(
            running(
                [
                    "prometheus-alertmanager",
                    f"--config.file={am_config}",
                    f"--storage.path={directory / 'alertmanager-data'}",
                    f"--web.listen-address={alertmanager}",
                    "--cluster.listen-address=",
                ],
                directory / "alertmanager.log",
                f"http://{alertmanager}/-/ready",
            )
        )
        prometheus = f"127.0.0.1:{prometheus_port}"
        config = prometheus_overlay(directory / "prometheus", f"127.0.0.1:{bot_port}", alertmanager)
        await stack.enter_async_context(
            running(
                [
                    "prometheus",
                    f"--config.file={config}",
                    f"--storage.tsdb.path={directory / 'prometheus-data'}",
                    f"--web.listen-address={prometheus}",
                ],
                directory / "prometheus.log",
                f"http://{prometheus}/-/ready",
            )
        )
        await scraping(f"http://{prometheus}")
        yield Stack(bot, slack, inbox, f"http://{prometheus}", f"http://{alertmanager}", directory)


async def scraping(prometheus: str) -> None:
    """Until Prometheus has scraped the bot (with the ops token) and Alertmanager: a fresh
    Prometheus hands its targets to the scrapers only after its discovery's first 5 s pass,
    a start-up delay that a running one does not have."""
    query = f"{prometheus}/api/v1/query"
    up: dict[str, str] = {}
    async with aiohttp.ClientSession() as session:

        async def fetch() -> None:
            async with session.get(query, params={"query": "up"}) as response:
                found = (await response.json())["data"]["result"]
            up.update({series["metric"]["job"]: series["value"][1] for series in found})

        deadline = time.monotonic() + 30
        while up != {"rsv360": "1", "alertmanager": "1"}:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Prometheus does not scrape both targets: up = {up}")
            await asyncio.sleep(0.2)
            await fetch()


@dataclass
class Run:
    latency: float
    """Seconds from the first forged webhook to the alert's Slack message."""
    forged: int
    posted_at_firing: int
    mails_at_firing: int


async def forge_until_alerted(stack: Stack, seconds: float = 60) -> Run:
    """Forged Stripe webhooks (a signature by another secret), ten a second, until the alert is
    in Slack and in the mailbox; then they stop."""
    forged = 0
    async with aiohttp.ClientSession() as session:

        async def forge() -> None:
            nonlocal forged
            while True:
                body = b'{"id": "evt_forged", "type": "checkout.session.completed"}'
                signature = stripe.WebhookSignature.generate_signature_header(
                    body.decode(), "whsec_forger", timestamp=int(time.time())
                )
                async with session.post(
                    f"{stack.bot}/webhooks/payments/stripe",
                    data=body,
                    headers={"Stripe-Signature": signature},
                ) as response:
                    assert response.status == 400, response.status
                forged += 1
                await asyncio.sleep(0.1)

        started = time.monotonic()
        forging = asyncio.create_task(forge())
        try:
            await until(
                lambda: forging.done() or (bool(stack.posted()) and bool(stack.inbox.messages)),
                seconds,
                "the alert in Slack and in the mailbox",
            )
        finally:
            forging.cancel()
            with suppress(asyncio.CancelledError):
                await forging
    return Run(
        latency=stack.posted()[0].at - started,
        forged=forged,
        posted_at_firing=len(stack.posted()),
        mails_at_firing=len(stack.inbox.messages),
    )


async def until_resolved(stack: Stack, seconds: float = 60) -> None:
    """Until the Slack message is edited and the resolve's e-mail arrived."""
    await until(
        lambda: bool(stack.updated()) and len(stack.inbox.messages) >= 2,
        seconds,
        "the resolve edited in Slack and mailed",
    )


def waits(pace: Pace, share: float) -> float:
    """The waits between the first forged webhook and Alertmanager's notification at ``pace``,
    the scrape and evaluation waits being ``share`` of an interval: the scrape that first sees
    the forgeries (the rejections' series exist at 0 from the start, so one scrape is enough
    for ``increase``), the evaluation, ``for`` and group_wait, as docs/monitoring.md counts
    them."""
    return share * (pace.scrape + pace.evaluation) + pace.pending + pace.group_wait


def production_estimate(measured: float) -> dict[str, float]:
    """What ``measured`` (under the overlay) becomes at the shipped pace: the overlay's waits
    are swapped for the shipped ones; ``typical`` puts the scrape and evaluation waits at half
    an interval each, ``worst`` at a full one. The rest of the measured time (the bot's
    receiver and delivery, the processes' own work) is kept as measured."""
    shipped = shipped_pace()

    rest = max(measured - waits(OVERLAY, 0.5), 0.0)
    return {
        "typical": round(waits(shipped, 0.5) + rest, 1),
        "worst": round(waits(shipped, 1.0) + rest, 1),
    }
