"""The Telegram channel's settings (``RSV_TELEGRAM_*``), read by ``bot.root.settings``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class TelegramSettings(BaseModel):
    token: SecretStr | None = Field(
        default=None,
        description="Telegram bot token from @BotFather; the Telegram channel is off unset.",
    )
    mode: Literal["webhook", "polling"] = Field(
        default="webhook",
        description="webhook (production, behind public_url) or polling (local dev).",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token; derived from "
        "secret_key when unset.",
    )
    api_url: str | None = Field(
        default=None,
        description="Bot API server base URL (a local server); api.telegram.org unset.",
    )
    chat_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Least time between two proactive messages to one Telegram chat.",
    )
    messages_per_second: float = Field(
        default=30.0,
        gt=0,
        description="Most proactive Telegram messages per second over all chats.",
    )
