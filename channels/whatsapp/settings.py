"""The WhatsApp channel's settings (``RSV_WHATSAPP_*``), read by ``bot.root.settings``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

TEMPLATES_FILE = Path(__file__).resolve().parent / "templates.yaml"


class WhatsAppSettings(BaseModel):
    access_token: SecretStr | None = Field(
        default=None,
        description="Cloud API access token (a system user's); the WhatsApp channel is off unset.",
    )
    phone_number_id: str | None = Field(
        default=None, description="Phone number ID of the business number the bot writes from."
    )
    app_secret: SecretStr | None = Field(
        default=None,
        description="Meta app secret: webhook bodies are checked against X-Hub-Signature-256.",
    )
    verify_token: SecretStr | None = Field(
        default=None,
        description="Token Meta sends to GET /whatsapp/webhook when the webhook is set up.",
    )
    number: str | None = Field(
        default=None,
        pattern=r"^\+?[0-9]{8,15}$",
        description="The business number in international form (5511999998888), for wa.me links.",
    )
    api_url: str = Field(
        default="https://graph.facebook.com/v21.0",
        description="Graph API base URL with its version (a local server in tests).",
    )
    messages_per_second: float = Field(
        default=80.0, gt=0, description="Most proactive WhatsApp messages per second overall."
    )
    recipient_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Least time between two proactive messages to one WhatsApp recipient.",
    )
    templates_file: Path = Field(
        default=TEMPLATES_FILE,
        description="Approved message templates sent outside the 24-hour window, per notice.",
    )
    timeout_seconds: float = Field(
        default=20.0, gt=0, description="Longest wait for one Graph API call."
    )
