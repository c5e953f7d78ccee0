"""Backoff and the partner's Retry-After: within their bounds for any input, and never an
exception for a header a partner may send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.partners.backoff import full_jitter, retry_after_seconds

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


@given(
    attempt=st.integers(min_value=0, max_value=10_000),
    base=st.floats(min_value=0.001, max_value=10),
    cap=st.floats(min_value=0.001, max_value=60),
    draw=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_a_jittered_delay_stays_under_its_doubling_ceiling(
    attempt: int, base: float, cap: float, draw: float
) -> None:
    delay = full_jitter(attempt, base, cap, lambda: draw)
    assert 0 <= delay <= min(cap, base * 2 ** min(attempt, 30))


@given(st.text(max_size=60))
def test_any_retry_after_header_is_read_or_ignored_never_raised(header: str) -> None:
    seconds = retry_after_seconds(header, NOW, 30.0)
    assert seconds is None or 0 <= seconds <= 30.0


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("7", NOW, 30.0) == 7.0
    assert retry_after_seconds("600", NOW, 30.0) == 30.0
    later = (NOW + timedelta(seconds=12)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_after_seconds(later, NOW, 30.0) == 12.0
    assert retry_after_seconds("soon", NOW, 30.0) is None
    assert retry_after_seconds(None, NOW, 30.0) is None
