"""The one "now" of the test suite (tests/conftest.py freezes the clock on it for every test), and
a clock a test moves by hand for the services that take one."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
"""The instant every test starts at, a Wednesday afternoon in the demo properties' time zone."""
REFERENCE_DAY: date = NOW.date()
"""Its date: the held-out NLU data's expected dates are computed from it."""


class Clock:
    """A clock the test moves by hand: it stands still between ``advance`` calls."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Ticks:
    """A monotonic clock in seconds (for the services that take ``time.monotonic``-like
    clocks) that stands still until the test moves ``now``."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
