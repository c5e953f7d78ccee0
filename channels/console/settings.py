"""The console's settings section (``RSV_CONSOLE_*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ConsoleSettings(BaseModel):
    idle_minutes: int = Field(
        default=30, gt=0, description="A console session unused this long ends (sign in again)."
    )
    absolute_hours: int = Field(
        default=12,
        gt=0,
        description="A console session ends this long after sign-in, however used.",
    )
    live_seconds: float = Field(
        default=5.0, gt=0, description="How often the Today page's live figures are sent (seconds)."
    )
    settings_refresh_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often every process applies the settings saved in the console by "
        "another process (seconds).",
    )
