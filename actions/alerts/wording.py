"""An alert in words, in the destination's locale and time zone: the chat message with its
buttons, and the e-mail (subject, text and HTML), from ``prompts/alerts/``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from actions.alerts.routing import Destination
from actions.alerts.tables import AlertRecord
from bot.core.buttons import button_payload
from bot.core.render import Markup
from bot.core.types import Choice, Outcome, Reply
from bot.stores.database import as_utc

Render = Callable[[Outcome, str, Markup], Reply]
SILENCE_HOURS = (1, 24)


@dataclass(frozen=True, slots=True)
class Mail:
    subject: str
    text: str
    html: str


class Wording:
    def __init__(self, render: Render) -> None:
        self._render = render

    def chat(
        self, record: AlertRecord, destination: Destination, now: datetime, links: bool
    ) -> Reply:
        """The message with its buttons (``links``: pressable ones; else URLs in the text)."""
        values = self._values(record, destination, now)
        choices = alert_choices(record) if links else ()
        outcome = Outcome("alerts/alert", {**values, "links": not links}, choices)
        return self._render(outcome, destination.locale, "plain")

    def email(self, record: AlertRecord, destination: Destination, now: datetime) -> Mail:
        values = {**self._values(record, destination, now), "links": True}
        locale = destination.locale
        return Mail(
            subject=self._render(Outcome("alerts/subject", values), locale, "plain").text,
            text=self._render(Outcome("alerts/alert", values), locale, "plain").text,
            html=self._render(Outcome("alerts/email", values), locale, "html").text,
        )

    def _values(
        self, record: AlertRecord, destination: Destination, now: datetime
    ) -> dict[str, Any]:
        return self.values(record, destination.locale, destination.timezone, now)

    def values(
        self, record: AlertRecord, locale: str, timezone: str, now: datetime
    ) -> dict[str, Any]:
        """The alert's values; an alert worded by a template (one from the code) in
        ``locale``: the template's first line is the summary, the rest details."""
        values = alert_values(record, timezone, now)
        if record.template:
            outcome = Outcome(record.template, record.facts or {})
            text = self._render(outcome, locale, "plain").text
            summary, _, details = text.strip().partition("\n")
            values["summary"], values["details"] = summary, details.strip()
        return values


def alert_values(record: AlertRecord, timezone: str, now: datetime) -> dict[str, Any]:
    zone = ZoneInfo(timezone)

    def local(moment: datetime | None) -> str | None:
        if moment is None:
            return None
        return as_utc(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    silenced = record.silenced_until
    return {
        "id": record.id,
        "type": record.type,
        "severity": record.severity,
        "status": record.status,
        "summary": record.summary,
        "details": record.details,
        "count": record.count,
        "fired_at": local(record.fired_at),
        "resolved_at": local(record.resolved_at),
        "acknowledged_by": record.acknowledged_by,
        "silenced_until": local(silenced) if silenced and as_utc(silenced) > now else None,
        "runbook_url": record.runbook_url,
        "dashboard_url": record.dashboard_url,
        "test": record.source == "test",
    }


def alert_choices(record: AlertRecord) -> tuple[Choice, ...]:
    """Acknowledge and silence while it fires, its links, and its type's own actions."""
    choices: list[Choice] = []
    if record.status == "firing":
        if record.acknowledged_by is None:
            choices.append(Choice("alert_ack", button_payload("alert_ack", id=record.id)))
        choices += [
            Choice(
                f"alert_silence_{hours}h",
                button_payload("alert_silence", id=record.id, hours=hours),
            )
            for hours in SILENCE_HOURS
        ]
        choices += [Choice(label, payload) for label, payload in record.actions]
    if record.runbook_url:
        choices.append(Choice("alert_runbook", url=record.runbook_url))
    if record.dashboard_url:
        choices.append(Choice("alert_dashboard", url=record.dashboard_url))
    return tuple(choices)
