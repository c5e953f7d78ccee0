"""The partner client's settings (``RSV_PARTNERS_*``), read by ``bot.root.settings``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PartnerSettings(BaseModel):
    weather_cache_seconds: int = Field(
        default=30 * 60,
        ge=0,
        description="How long a weather partner's answer is served from the cache before it is "
        "asked again (0: not cached).",
    )
    events_cache_seconds: int = Field(
        default=6 * 3600,
        ge=0,
        description="How long an events partner's answer (a calendar feed) is served from the "
        "cache before it is asked again (0: not cached).",
    )
    stale_seconds: int = Field(
        default=2 * 24 * 3600,
        ge=0,
        description="How long a partner's last good answer is kept to answer with (and a note) "
        "while the partner is down or over its rate limit.",
    )
    timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Longest a single call to a partner API may take."
    )
    retries: int = Field(
        default=2,
        ge=0,
        le=5,
        description="Retries of a partner call on 429, 5xx, timeouts and dropped "
        "connections, after backoff with jitter.",
    )
    backoff_seconds: float = Field(
        default=0.25,
        gt=0,
        description="First retry's backoff ceiling; it doubles per retry (full jitter).",
    )
    backoff_max_seconds: float = Field(
        default=4.0, gt=0, description="Largest backoff between two tries of a partner call."
    )
    breaker_failures: int = Field(
        default=5,
        ge=1,
        description="Failed calls in a row after which a partner's circuit opens: calls fail "
        "fast and answers come from the cache.",
    )
    breaker_open_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long an open circuit stays open before one trial call is let through.",
    )
