"""The server's secret: it signs widget tokens, checkout links and derived webhook secrets."""

from __future__ import annotations

import secrets
from pathlib import Path

from bot.private import private_directory, write_private
from bot.settings import Settings


def secret_key(settings: Settings) -> str:
    """The configured secret, or one generated once and kept in the data directory."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path: Path = settings.data_dir / "secret-key"
    if not path.exists():
        private_directory(path.parent)
        write_private(path, secrets.token_urlsafe(32))
    return path.read_text(encoding="utf-8").strip()
