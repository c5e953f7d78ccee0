"""The Discord channel's settings (``RSV_DISCORD_*``), read by ``bot.root.settings``."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class DiscordSettings(BaseModel):
    token: SecretStr | None = Field(
        default=None, description="Discord bot token; the Discord channel is off unset."
    )
    api_url: str | None = Field(
        default=None, description="Discord REST base (…/api/v10) and gateway are Discord's unset."
    )
    gateway_url: str | None = Field(
        default=None, description="Discord gateway ws:// URL; Discord's own unset."
    )
