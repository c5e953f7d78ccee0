"""The privacy settings (``RSV_PRIVACY_*``), read by ``bot.root.settings``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PrivacySettings(BaseModel):
    retention_days: int = Field(
        default=180,
        ge=1,
        description="Days after a stay (or an unpaid booking's end) and after a guest's last "
        "word on messages that their personal data is kept; the purge job anonymises or "
        "deletes it then. Conversation sessions expire sooner (RSV_SESSION_TTL_SECONDS).",
    )
    accounting_years: int = Field(
        default=5,
        ge=1,
        description="Years a paid reservation keeps the guest's name and e-mail for the "
        "accounting records (Brazilian tax law: five years) before they are anonymised too.",
    )
    purge_every_seconds: float = Field(
        default=3600.0, gt=0, description="How often the retention purge runs."
    )
