"""What time it is, for the whole bot.

Every part that stamps, expires or compares a moment asks one clock: the one the composition
root hands out (``build_runtime``'s ``now``), the system's unless a test or a replay hands in
another. Nothing else reads the wall clock, but for the ``limits`` library's windows, whose
reset times are on its own ``time.time``. Durations (timeouts, pacing, leases) are measured on
``time.monotonic`` instead, which no change of the wall clock can move.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

Now = Callable[[], datetime]
"""The current moment, timezone-aware, in UTC."""


def system_now() -> datetime:
    return datetime.now(UTC)


def today_in(zone: str, now: Now) -> date:
    """The date it is now in ``zone`` (an IANA name): a property's today."""
    return now().astimezone(ZoneInfo(zone)).date()
