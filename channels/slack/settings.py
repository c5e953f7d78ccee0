"""The Slack channel's settings (``RSV_SLACK_*``), read by ``bot.root.settings``."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class SlackSettings(BaseModel):
    bot_token: SecretStr | None = Field(
        default=None, description="Slack bot token (xoxb-...); the Slack channel is off unset."
    )
    signing_secret: SecretStr | None = Field(
        default=None, description="Slack app signing secret that verifies every request from Slack."
    )
    api_url: str | None = Field(
        default=None, description="Slack Web API base URL ending in /api/; slack.com unset."
    )
    channel_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Least time between two proactive messages to one Slack channel.",
    )
