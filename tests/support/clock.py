"""The one "now" of the test suite: tests/conftest.py freezes the clock on it for every test."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))
"""The instant every test starts at, a Wednesday afternoon in the demo properties' time zone."""
REFERENCE_DAY: date = NOW.date()
"""Its date: the held-out NLU data's expected dates are computed from it."""
