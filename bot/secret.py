"""The server's secret: it signs widget tokens, checkout links and derived webhook secrets."""

from __future__ import annotations

import secrets
from pathlib import Path

from bot.settings import Settings


def secret_key(settings: Settings) -> str:
    """The configured secret, or one generated once and kept in the data directory."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path: Path = settings.data_dir / "secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()
