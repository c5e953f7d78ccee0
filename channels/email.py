"""E-mail through SMTP (aiosmtplib): STARTTLS or implicit TLS, optional login, multipart text
and HTML. Settings ``RSV_SMTP_*``, read by ``bot.root.settings``."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Literal

import aiosmtplib
from pydantic import BaseModel, Field, SecretStr

Security = Literal["starttls", "tls", "none"]


class SmtpSettings(BaseModel):
    host: str | None = Field(
        default=None, description="SMTP server for alert e-mail; e-mail destinations fail unset."
    )
    port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    security: Security = Field(
        default="starttls",
        description="starttls (port 587), tls (implicit TLS, port 465) or none (a local relay).",
    )
    username: str | None = Field(default=None, description="SMTP login; no login unset.")
    password: SecretStr | None = Field(default=None, description="SMTP password.")
    sender: str = Field(default="rsv360@localhost", description="The From address of alert e-mail.")
    timeout_seconds: float = Field(default=10.0, gt=0, description="Longest wait for the server.")


class SmtpMailer:
    def __init__(self, settings: SmtpSettings) -> None:
        assert settings.host is not None
        self._settings = settings

    async def send(self, to: str, subject: str, text: str, html: str) -> None:
        """One message; raises what the server or the network raised (the caller retries)."""
        settings = self._settings
        message = EmailMessage()
        message["From"] = settings.sender
        message["To"] = to
        message["Subject"] = " ".join(subject.split())  # a header holds no line breaks
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        await aiosmtplib.send(
            message,
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            timeout=settings.timeout_seconds,
        )
