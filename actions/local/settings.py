"""The local guide's settings (``RSV_LOCAL_*``), read by ``bot.root.settings``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from actions.local.places import PLACES_DIR


class LocalSettings(BaseModel):
    weather_url: str = Field(
        default="https://api.open-meteo.com/v1/forecast",
        description="Open-Meteo's forecast endpoint (no key needed; a local mirror or the "
        "tests' fake otherwise).",
    )
    places_dir: Path = Field(
        default=PLACES_DIR,
        description="Folder of the properties' surroundings files (coordinates, suggestions, "
        "calendar feeds, listed events, climate normals), one YAML file per property slug.",
    )
    events_days: int = Field(
        default=30,
        ge=1,
        le=366,
        description='How far ahead "what\'s on?" looks when no date is named.',
    )
    booking_weather_seconds: float = Field(
        default=1.5,
        gt=0,
        le=10,
        description="Longest the booking summary waits for its one line of weather; without "
        "an answer by then it goes on without it.",
    )
