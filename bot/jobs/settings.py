"""The job queue's settings (``RSV_JOBS_*``), read by ``bot.root.settings``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class JobsSettings(BaseModel):
    redis_url: str | None = Field(
        default=None,
        description="redis:// URL of the job queue; redis_url when unset (a single node: the "
        "queue needs one, also when the stores run on a Redis Cluster). In-process when both "
        "are unset.",
    )
    in_serve: bool = Field(
        default=True,
        description="Whether `rsv360 serve` also runs jobs; false when `rsv360 worker` "
        "processes run them (they then answer staff forecast questions too).",
    )
    reclaim_seconds: float = Field(
        default=60.0,
        ge=1,
        description="How long a job stays unacknowledged before another worker takes it over "
        "(its worker died).",
    )
    max_at_once: int = Field(
        default=50, gt=0, description="Most jobs one worker process runs at once."
    )
