"""The alerts' settings (``RSV_ALERTS_*``), read by ``bot.root.settings``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr


class AlertSettings(BaseModel):
    routing_file: Path | None = Field(
        default=None,
        description="The alert routing file (docs/alerts.md); unset, every alert goes to "
        "RSV_STAFF_ALERTS, or is only stored when that is unset too.",
    )
    window_seconds: int = Field(
        default=3600,
        gt=0,
        description="An alert raised again (or again after it resolved) within this time "
        "updates its message instead of sending a new one.",
    )
    update_seconds: int = Field(
        default=60,
        ge=0,
        description="Least time between two edits of an alert's message for repeats (a "
        "resolve, an escalation or an acknowledgement edits at once).",
    )
    storm_messages: int = Field(
        default=5,
        gt=0,
        description="Most new alert messages per destination within storm_seconds; further "
        "alerts are stored and listed, not sent.",
    )
    storm_seconds: int = Field(default=60, gt=0, description="The window storm_messages counts in.")
    max_attempts: int = Field(
        default=5, ge=1, le=20, description="Tries of one alert delivery before the fallback."
    )
    backoff_seconds: float = Field(
        default=2.0, ge=0, description="First wait between two tries; it doubles each time."
    )
    alertmanager_token: SecretStr | None = Field(
        default=None,
        description="Bearer token Alertmanager sends to POST /alerts/alertmanager; the "
        "receiver is closed when neither it nor the basic credentials are set.",
    )
    alertmanager_username: str | None = Field(
        default=None, description="Basic-auth user Alertmanager may send instead of a token."
    )
    alertmanager_password: SecretStr | None = Field(
        default=None, description="Basic-auth password that goes with alertmanager_username."
    )
    runbook_base_url: str | None = Field(
        default=None,
        description="Where docs/runbooks.md is published (e.g. the repository's URL ending in "
        "/blob/main/): the shipped rules' relative runbook links are resolved against it.",
    )
    alertmanager_max_bytes: int = Field(
        default=262_144, gt=0, description="Largest Alertmanager payload accepted (413 above)."
    )
