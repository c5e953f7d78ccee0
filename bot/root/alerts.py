"""Alerts' ways out wired from settings (Slack with edits in place, the other provider
channels, SMTP, incoming webhooks), the routing file, the Alertmanager receiver, and the
``rsv360 alerts`` commands. Part of the composition root; the desk itself is the alerts
capability's (``actions/alerts/capability.py``)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry

from actions.alerts.capability import alert_desk
from actions.alerts.desk import AlertDesk
from actions.alerts.model import MAX_KEY_CHARS, MAX_URL_CHARS, Alert, alert_type, severity
from actions.alerts.routing import Routing, RoutingError, load_routing, parse_target
from bot.core.clock import system_now
from bot.core.render import Renderer
from bot.core.types import Address, Reply
from bot.outbound.proactive import Deliver
from bot.root.settings import Settings
from bot.stores.database import Database
from channels.alertmanager import AlertGroup, AlertmanagerReceiver

log = structlog.get_logger("rsv360.alerts")


def connect_alert_mail(desk: AlertDesk, settings: Settings) -> None:
    """E-mail (when an SMTP host is set) and Slack incoming webhooks (when a destination is
    one: slack_sdk is imported only then) as ways out."""
    mailer = None
    if settings.smtp.host:
        from channels.email import SmtpMailer

        mailer = SmtpMailer(settings.smtp)
    desk.connect(mailer=mailer)
    connect_webhooks(desk, desk.routing)


def connect_webhooks(desk: AlertDesk, routing: Routing) -> None:
    """Slack incoming webhooks as a way out, when a destination of ``routing`` is one
    (slack_sdk is imported only then)."""
    if any(d.target.channel == "webhook" for d in routing.destinations.values()):
        from channels.slack.alerts import SlackWebhookPoster

        desk.connect(webhook=SlackWebhookPoster())


async def alerts_command(settings: Settings, command: str, kind: str, level: str) -> int:
    """``rsv360 alerts test|list``: the test delivers in this process (Slack by its token,
    webhooks, e-mail; other chats need a running bot) and prints what each destination got."""
    from actions.alerts.model import SEVERITIES, TYPES
    from bot.root.app import prepare_database
    from bot.root.settings import PACKAGE_ROOT
    from bot.stores.database import sqlite_url

    if kind not in TYPES or level not in SEVERITIES:
        print(
            f"rsv360 alerts: TYPE is one of {', '.join(TYPES)}; SEVERITY one of "
            f"{', '.join(SEVERITIES)}"
        )
        return 2
    database = Database(settings.database_url or sqlite_url(settings.data_dir))
    renderer = Renderer(PACKAGE_ROOT / "prompts", PACKAGE_ROOT / "locales", settings.default_locale)
    try:
        await prepare_database(database, system_now().date())
        desk = alert_desk(
            database,
            renderer,
            CollectorRegistry(),
            settings.alerts,
            alert_routing(settings),
            system_now,
        )
        connect_alert_mail(desk, settings)
        if settings.slack.bot_token is not None:
            desk.register_chat("slack", slack_poster(settings))
        if command == "test":
            results = await desk.test(kind, level)
            for name, target, state in results:
                print(f"{name}\t{target}\t{state}")
            if not results:
                print(f"no route takes {kind} alerts of severity {level}")
            return 0 if results and all(state == "sent" for *_, state in results) else 1
        for record, deliveries in await desk.history.recent():
            where = ", ".join(f"{d.destination}={d.state}" for d in deliveries) or "-"
            print(
                f"#{record.id}\t{record.last_at:%Y-%m-%d %H:%M}\t{record.status}\t"
                f"{record.type}/{record.severity}\tx{record.count}\t"
                f"{record.acknowledged_by or ''}\t{record.summary}\t{where}"
            )
        return 0
    finally:
        await database.close()


def alert_routing(settings: Settings) -> Routing:
    """The routing file; without one, everything to ``RSV_STAFF_ALERTS`` when it names a
    provider chat; else alerts are only stored."""
    if settings.alerts.routing_file is not None:
        return load_routing(
            settings.alerts.routing_file, settings.default_locale, settings.timezone
        )
    if settings.staff_alerts:
        try:
            parse_target(settings.staff_alerts)
        except ValueError:
            log.warning("staff_alerts_not_a_destination")
        else:
            return Routing.single(settings.staff_alerts, settings.default_locale, settings.timezone)
    return Routing.empty()


class ChannelPoster:
    """A provider channel's paced, retried outbox (WhatsApp): an update is a new message, as a
    WhatsApp business message cannot be edited."""

    editable = False

    def __init__(self, channel: str, deliver: Deliver) -> None:
        self._channel = channel
        self._deliver = deliver

    async def post(self, conversation: str, reply: Reply) -> str | None:
        if not await self._deliver(Address(self._channel, conversation), [reply]):
            raise ConnectionError(f"{self._channel} refuses {conversation}")
        return None

    async def edit(self, conversation: str, ref: str, reply: Reply) -> str | None:
        return await self.post(conversation, reply)


def connect_alert_chats(desk: AlertDesk, settings: Settings, channels: dict[str, Any]) -> None:
    """Each enabled provider channel as a way out; a routing-file destination that none
    reaches fails start-up, naming its line."""
    for name, channel in channels.items():
        desk.register_chat(name, chat_poster(name, channel, settings))
    missing = [
        f"{settings.alerts.routing_file}:{destination.line}: destination {destination.name!r} "
        f"needs {destination.target.channel}, which is not configured"
        for destination in desk.unreachable()
        if destination.line > 0
    ]
    if missing:
        raise RoutingError("", "; ".join(missing))


def chat_poster(name: str, channel: Any, settings: Settings) -> Any:
    """Slack, Telegram and Discord post an alert once and edit it in place; the others post
    each change through the channel's outbox."""
    if name == "slack":
        return slack_poster(settings)
    if name == "telegram":
        from channels.telegram.alerts import TelegramAlertPoster

        return TelegramAlertPoster(channel.sender)
    if name == "discord":
        from channels.discord.alerts import DiscordAlertPoster

        return DiscordAlertPoster(channel.sender)
    return ChannelPoster(name, channel.deliver)


def slack_poster(settings: Settings) -> Any:
    from slack_sdk.web.async_client import AsyncWebClient

    from channels.slack.alerts import SlackAlertPoster

    assert settings.slack.bot_token is not None
    client = AsyncWebClient(
        settings.slack.bot_token.get_secret_value(),
        base_url=settings.slack.api_url or AsyncWebClient.BASE_URL,
    )
    return SlackAlertPoster(client)


def mount_alertmanager(app: web.Application, settings: Settings, desk: AlertDesk) -> None:
    """The receiver, closed (every call 401) until a token or basic credentials are set."""
    section = settings.alerts
    tokens = [section.alertmanager_token.get_secret_value()] if section.alertmanager_token else []
    basic = None
    if section.alertmanager_username and section.alertmanager_password:
        basic = (section.alertmanager_username, section.alertmanager_password.get_secret_value())

    async def sink(group: AlertGroup) -> None:
        await desk.raise_alert(alert_from_group(group, section.runbook_base_url))

    AlertmanagerReceiver(sink, tokens, basic, section.alertmanager_max_bytes).mount(app)


def alert_from_group(group: AlertGroup, runbook_base: str | None = None) -> Alert:
    """One Alertmanager group as one alert: type and severity from its labels, the dedupe key
    from its group key (hashed when long), words from its annotations; a relative runbook link
    (as the shipped rules write them) is resolved against ``runbook_base``."""
    labels, notes = group.labels, group.annotations
    first = group.alerts[0]
    summary = notes.get("summary") or first.annotations.get("summary") or labels.get("alertname")
    details = notes.get("description") or first.annotations.get("description") or ""
    runbook = notes.get("runbook_url") or first.annotations.get("runbook_url")
    if len(group.alerts) > 1:
        details = "\n".join(
            filter(None, [details, *(_line(alert.labels) for alert in group.alerts[:10])])
        )
    return Alert(
        type=alert_type(labels.get("type")),
        severity=severity(labels.get("severity")),
        dedupe_key=_dedupe_key(group.group_key),
        summary=summary or "Alertmanager",
        details=details[:2000],
        status="resolved" if group.status == "resolved" else "firing",
        runbook_url=_url(_resolved(runbook, runbook_base)),
        dashboard_url=_url(notes.get("dashboard_url") or first.generator_url),
        source="alertmanager",
    )


def _dedupe_key(group_key: str) -> str:
    key = f"am:{group_key}"
    if len(key) <= MAX_KEY_CHARS:
        return key
    return "am:sha256:" + hashlib.sha256(group_key.encode()).hexdigest()


def _resolved(link: str | None, base: str | None) -> str | None:
    if link and base and not link.startswith(("https://", "http://")):
        return urljoin(base, link)
    return link


def _url(value: str | None) -> str | None:
    """A link a button may open: http(s) only, no spaces."""
    if value and value.startswith(("https://", "http://")) and len(value) <= MAX_URL_CHARS:
        return value if not any(char.isspace() for char in value) else None
    return None


def _line(labels: dict[str, str]) -> str:
    shown: Sequence[str] = [
        f"{k}={v}" for k, v in sorted(labels.items()) if k not in ("type", "severity")
    ]
    return "· " + ", ".join(shown)[:200]
