"""How long to wait before the next try of a partner call: the partner's own ``Retry-After`` when
it gives one, otherwise exponential backoff with full jitter (so workers that failed together do
not come back together). Pure functions: the client injects the random source."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def full_jitter(
    attempt: int, base_seconds: float, max_seconds: float, random: Callable[[], float]
) -> float:
    """A delay drawn from [0, min(max, base * 2**attempt)) for the retry after ``attempt``
    (0 for the first retry)."""
    ceiling = min(max_seconds, base_seconds * (1 << min(attempt, 30)))
    return ceiling * random()


def retry_after_seconds(header: str | None, now: datetime, max_seconds: float) -> float | None:
    """The partner's ``Retry-After`` (seconds or an HTTP date) as seconds from ``now``, capped;
    None when absent or unreadable (the caller falls back to its own backoff)."""
    if header is None:
        return None
    text = header.strip()
    if text.isdigit():
        return min(float(text), max_seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), max_seconds)
