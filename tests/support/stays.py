"""Scenario stays built from the demo catalog's own rules, counted from the frozen today.

A test never picks dates by hand: it asks for a stay that is off-season, or whose check-in falls
in a cancellation window, and gets the first one that the seasons and their minimum stays allow
from whichever day the clock is frozen on.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from actions.booking.catalog import demo_seasons
from actions.booking.policy import CancellationPolicy

DEMO_ZONE = ZoneInfo("America/Sao_Paulo")
"""Every demo property's time zone: its "today" is the guests' and the policy's."""
MONTHS = {
    "pt-BR": ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
              "setembro", "outubro", "novembro", "dezembro"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
}  # fmt: skip
Window = Literal["free", "partial", "none"]
Stay = tuple[date, date]


def today() -> date:
    """The demo properties' date on the frozen clock (tests/conftest.py's ``frozen_time``)."""
    return datetime.now(DEMO_ZONE).date()


def in_portuguese(day: date) -> str:
    return f"{day.day} de {MONTHS['pt-BR'][day.month - 1]} de {day.year}"


def spoken(stay: Stay, locale: str) -> str:
    """The stay as a guest writes it, with full dates (any month, any year)."""
    check_in, check_out = stay
    if locale == "en":
        month = MONTHS["en"]
        return (
            f"from {month[check_in.month - 1]} {check_in.day} {check_in.year} "
            f"to {month[check_out.month - 1]} {check_out.day} {check_out.year}"
        )
    if locale == "es":
        month = MONTHS["es"]
        return (
            f"del {check_in.day} de {month[check_in.month - 1]} de {check_in.year} "
            f"al {check_out.day} de {month[check_out.month - 1]} de {check_out.year}"
        )
    return f"de {in_portuguese(check_in)} a {in_portuguese(check_out)}"


def in_season(day: date, seeded_on: date) -> bool:
    return any(start <= day <= end for _, start, end, _, _ in demo_seasons(seeded_on))


def minimum_stay(check_in: date, seeded_on: date) -> int:
    """The nights the demo requires for a stay starting on ``check_in`` (as the service reads it:
    the longest minimum of the seasons covering the check-in day)."""
    covering = [
        nights for _, start, end, nights, _ in demo_seasons(seeded_on) if start <= check_in <= end
    ]
    return max([1, *covering])


def off_season_stay(start_from: date | None = None, nights: int = 2, lead_days: int = 14) -> Stay:
    """``nights`` nights at least ``lead_days`` ahead, none of them in a demo season, so no
    minimum stay applies and the price is the base rate."""
    day = start_from or today()
    check_in = day + timedelta(days=lead_days)
    while any(in_season(check_in + timedelta(days=n), day) for n in range(nights + 1)):
        check_in += timedelta(days=1)
    return check_in, check_in + timedelta(days=nights)


def high_season_stay(start_from: date | None = None, lead_days: int = 1) -> Stay:
    """The first stay at least ``lead_days`` ahead whose check-in is in a demo season, as long
    as that season's minimum stay."""
    day = start_from or today()
    check_in = day + timedelta(days=lead_days)
    while not in_season(check_in, day):
        check_in += timedelta(days=1)
    return check_in, check_in + timedelta(days=minimum_stay(check_in, day))


def checkin_days(policy: CancellationPolicy, window: Window) -> range:
    """How many days before check-in a cancellation falls in ``window`` of ``policy``."""
    if window == "free":
        return range(policy.free_until_days, policy.free_until_days + 30)
    if window == "partial":
        return range(policy.partial_until_days, policy.free_until_days)
    return range(0, policy.partial_until_days)


def stay_in_window(
    policy: CancellationPolicy, window: Window, start_from: date | None = None
) -> Stay:
    """The shortest stay the seasons allow whose check-in, counted from today, puts a
    cancellation in ``window`` of the policy (the earliest such check-in)."""
    day = start_from or today()
    ahead = checkin_days(policy, window)
    if not ahead:
        raise ValueError(f"the policy {policy} has no {window} window")
    check_in = day + timedelta(days=ahead[0])
    return check_in, check_in + timedelta(days=minimum_stay(check_in, day))


def new_year_stay(day: date) -> tuple[date, date]:
    """Réveillon's usual stay, the next one whose check-out is ahead."""
    for year in (day.year - 1, day.year):
        check_in, check_out = date(year, 12, 30), date(year + 1, 1, 2)
        if check_out > day:
            return max(check_in, day), check_out
    raise AssertionError("unreachable: this year's ends after today")
