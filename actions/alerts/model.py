"""What an alert is, wherever it comes from (Alertmanager, the payments, ``rsv360 alerts test``).

An alert with the dedupe key of an open one (or of one resolved within the grouping window) is
the same alert again: it updates that alert's messages instead of sending new ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

AlertType = Literal["payment", "booking", "ml", "api", "channel", "system", "security"]
Severity = Literal["critical", "warning", "info"]
Status = Literal["firing", "resolved"]

TYPES: tuple[AlertType, ...] = get_args(AlertType)
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
MAX_SUMMARY_CHARS = 300
MAX_DETAILS_CHARS = 2000
MAX_KEY_CHARS = 200
MAX_URL_CHARS = 2000


@dataclass(frozen=True, slots=True)
class AlertAction:
    """A button of the alert's own type (approve a refund, refund a flagged payment): a label
    of ``prompts/labels.j2`` and the payload it sends, built with ``button_payload``."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Alert:
    type: AlertType
    severity: Severity
    dedupe_key: str
    summary: str
    details: str = ""
    status: Status = "firing"
    runbook_url: str | None = None
    dashboard_url: str | None = None
    source: str = "code"
    """Who raised it: ``alertmanager``, ``test``, or the capability (``payments``)."""
    actions: tuple[AlertAction, ...] = field(default=())
    template: str | None = None
    """A template of ``prompts/`` that words the alert in each destination's own locale from
    ``facts`` (its first line the summary, the rest the details); ``summary`` and ``details``
    are then its words in the default locale, for the history and the lists."""
    facts: dict[str, Any] = field(default_factory=dict)
    """The template's values: JSON (they are stored with the alert)."""

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"alert type {self.type!r} is not one of {TYPES}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {SEVERITIES}")
        if not self.dedupe_key or len(self.dedupe_key) > MAX_KEY_CHARS:
            raise ValueError("a dedupe key is 1 to 200 characters")


def alert_type(value: str | None) -> AlertType:
    """A label's type; an unknown or missing one is ``system`` (an alert is never refused for
    a label a rule forgot)."""
    return next((known for known in TYPES if known == value), "system")


def severity(value: str | None) -> Severity:
    """A label's severity; an unknown or missing one is ``warning``."""
    return next((known for known in SEVERITIES if known == value), "warning")


def clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
