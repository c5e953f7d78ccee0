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
    child_process: bool = Field(
        default=True,
        description="Where a web worker answers forecasts itself (the jobs run in `rsv360 "
        "serve`), compute them in a child process started on the first question, so the web "
        "worker never holds pandas, scikit-learn and matplotlib; `rsv360 worker`, where they "
        "belong, computes them itself.",
    )
    child_idle_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long the forecast child process waits for more work before it stops.",
    )
