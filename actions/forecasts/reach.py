"""How far the forecasts see and which days staff call "o feriado": what reading a question
needs, without the models' pandas and scikit-learn (a web worker that hands forecasts to the
job worker never loads them: docs/benchmarks.md, "Memory per worker")."""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays

HORIZON = 90
"""Days ahead the demand model forecasts."""


@cache
def public_holidays(year: int) -> tuple[date, ...]:
    """National public holidays of this year and the next (what staff call "o feriado")."""
    return tuple(sorted(holidays.country_holidays("BR", years=(year, year + 1))))
