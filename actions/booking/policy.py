"""A property's cancellation policy: the one place that says how much a cancellation returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CancellationPolicy:
    """Free until ``free_until_days`` before check-in, ``partial_refund_percent`` until
    ``partial_until_days`` before, nothing after."""

    free_until_days: int
    partial_until_days: int
    partial_refund_percent: int

    def __post_init__(self) -> None:
        if not 0 <= self.partial_until_days <= self.free_until_days:
            raise ValueError("partial_until_days must be between 0 and free_until_days")
        if not 0 <= self.partial_refund_percent <= 100:
            raise ValueError("partial_refund_percent must be between 0 and 100")

    def refund_percent(self, days_before_checkin: int) -> int:
        if days_before_checkin >= self.free_until_days:
            return 100
        if days_before_checkin >= self.partial_until_days:
            return self.partial_refund_percent
        return 0
