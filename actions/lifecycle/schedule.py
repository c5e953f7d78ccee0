"""When each message goes out: pure functions of a reservation's dates, the property's time
zone, its schedule and the quiet hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Kind = Literal["pre_arrival", "arrival", "post_stay", "abandoned"]
KINDS: tuple[Kind, ...] = ("pre_arrival", "arrival", "post_stay", "abandoned")
MARKETING: frozenset[Kind] = frozenset({"post_stay", "abandoned"})
"""Sent only with the guest's opt-in where the property asks for one (the pre-arrival upsell
too: the message then goes without it)."""


@dataclass(frozen=True, slots=True)
class Timing:
    """A message's schedule: ``days`` from its anchor day at ``at`` (property time), or, for
    the abandoned booking, ``hours`` after the hold ran out."""

    days: int = 0
    at: time = time(10, 0)
    hours: int = 24


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: int = 21
    end: int = 8

    def quiet(self, local: datetime) -> bool:
        hour = local.hour
        if self.start > self.end:  # spans midnight: 21:00 → 08:00
            return hour >= self.start or hour < self.end
        return self.start <= hour < self.end

    def outside(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """``moment``, or the end of the quiet hours it falls in (property time), in UTC."""
        local = moment.astimezone(zone)
        if not self.quiet(local):
            return moment.astimezone(UTC)
        day = local.date() if local.hour < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, time(self.end), zone).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Window:
    due: datetime
    deadline: datetime


def window(
    kind: Kind,
    timing: Timing,
    zone: ZoneInfo,
    check_in: date,
    check_out: date,
    hold_expired_at: datetime | None,
) -> Window:
    """The planned send time (before quiet hours) and the last moment it still makes sense."""
    if kind == "abandoned":
        assert hold_expired_at is not None
        due = hold_expired_at + timedelta(hours=timing.hours)
        return Window(due, due + timedelta(days=1))
    if kind == "pre_arrival":
        due = _local(check_in + timedelta(days=timing.days), timing.at, zone)
        return Window(due, _local(check_in, time(0), zone))
    if kind == "arrival":
        due = _local(check_in + timedelta(days=timing.days), timing.at, zone)
        return Window(due, _local(check_in + timedelta(days=1), time(0), zone))
    due = _local(check_out + timedelta(days=timing.days), timing.at, zone)
    return Window(due, due + timedelta(days=2))


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, zone).astimezone(UTC)
