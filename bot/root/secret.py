"""The server's secret: it signs widget tokens, checkout links and derived webhook secrets."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from bot.root.settings import Settings
from bot.stores.private import private_directory, write_private


def secret_key(settings: Settings) -> str:
    """The configured secret, or one generated once and kept in the data directory."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path: Path = settings.data_dir / "secret-key"
    if not path.exists():
        private_directory(path.parent)
        write_private(path, secrets.token_urlsafe(32))
    return path.read_text(encoding="utf-8").strip()


def webhook_secret(settings: Settings, channel: str) -> str:
    """The configured webhook secret, else one derived from the server's secret key."""
    if channel == "telegram" and settings.telegram.webhook_secret is not None:
        return settings.telegram.webhook_secret.get_secret_value()
    digest = hmac.new(secret_key(settings).encode(), f"webhook:{channel}".encode(), "sha256")
    return digest.hexdigest()
