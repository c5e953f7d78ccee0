"""Pure pricing: per-night (or per-guest) rates, minimum stay, taxes and fees. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class SeasonRule:
    id: int
    name: str
    starts_on: date
    ends_on: date
    min_stay: int

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def length(self) -> int:
        return (self.ends_on - self.starts_on).days


@dataclass(frozen=True, slots=True)
class RateRule:
    season_id: int | None
    weekday: int | None
    amount: int

    def specificity(self) -> int:
        return (2 if self.season_id is not None else 0) + (1 if self.weekday is not None else 0)


@dataclass(frozen=True, slots=True)
class Night:
    day: date
    amount: int
    season: str | None


@dataclass(frozen=True, slots=True)
class Quote:
    nights: tuple[Night, ...]
    units: int
    subtotal: int
    taxes: int
    fees: int
    total: int
    currency: str

    def as_json(self) -> dict[str, object]:
        return {
            "nights": [
                [night.day.isoformat(), night.amount, night.season] for night in self.nights
            ],
            "units": self.units,
            "subtotal": self.subtotal,
            "taxes": self.taxes,
            "fees": self.fees,
            "total": self.total,
            "currency": self.currency,
        }


class MinimumStayNotMet(ValueError):
    def __init__(self, required: int) -> None:
        super().__init__(f"minimum stay is {required} nights")
        self.required = required


def days(check_in: date, check_out: date) -> list[date]:
    return [check_in + timedelta(days=offset) for offset in range((check_out - check_in).days)]


def quote(
    check_in: date,
    check_out: date,
    units: int,
    rates: Sequence[RateRule],
    seasons: Sequence[SeasonRule],
    base_min_stay: int,
    tax_percent: int,
    fee_per_stay: int,
    currency: str,
) -> Quote:
    """The price of ``units`` (rooms, or guests of a tour) from ``check_in`` to ``check_out``.

    Taxes are rounded half up to the centavo on the subtotal; fees are per stay."""
    stay = days(check_in, check_out)
    if not stay:
        raise ValueError("check-out must be after check-in")
    required = max([base_min_stay, *(s.min_stay for s in seasons if s.covers(check_in))])
    if len(stay) < required:
        raise MinimumStayNotMet(required)
    nights = []
    for day in stay:
        season = _narrowest(s for s in seasons if s.covers(day))
        applicable = [
            rate
            for rate in rates
            if rate.season_id in (None, season.id if season else None)
            and rate.weekday in (None, day.weekday())
        ]
        if not applicable:
            raise LookupError(f"no rate for {day}")
        best = max(applicable, key=RateRule.specificity)
        nights.append(Night(day, best.amount * units, season.name if season else None))
    subtotal = sum(night.amount for night in nights)
    taxes = (subtotal * tax_percent + 50) // 100
    return Quote(
        tuple(nights),
        units,
        subtotal,
        taxes,
        fee_per_stay,
        subtotal + taxes + fee_per_stay,
        currency,
    )


def _narrowest(covering: Iterable[SeasonRule]) -> SeasonRule | None:
    """Where seasons overlap (Réveillon inside the summer), the shorter one sets the rate."""
    return min(covering, key=SeasonRule.length, default=None)
