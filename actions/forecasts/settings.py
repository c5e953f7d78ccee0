"""Forecast settings (``RSV_FORECAST_*``), read by ``bot.root.settings``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class ForecastSettings(BaseModel):
    models_dir: Path | None = Field(
        default=None,
        description="Where forecast model versions and the promoted list are kept; defaults to "
        "the models dir's forecasts folder.",
    )
    cache_seconds: int = Field(
        default=900, ge=0, description="How long a forecast answer is served from the cache."
    )
