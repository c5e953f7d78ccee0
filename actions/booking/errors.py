"""What the booking domain refuses, for every part of it and its callers alike."""

from __future__ import annotations


class BookingError(Exception):
    """A request the booking domain refuses."""


class Unavailable(BookingError):
    """Sold out on at least one day, or not bookable on those dates."""


class TooManyGuests(BookingError):
    """The party does not fit the room (or has no adult)."""


class StayTooShort(BookingError):
    """Shorter than the minimum stay of the season or the product."""

    def __init__(self, required: int) -> None:
        super().__init__(f"minimum stay {required}")
        self.required = required


class InvalidStay(BookingError):
    """Departure not after arrival."""


class HoldExpired(BookingError):
    """The hold ran out before the payment came."""


class IllegalTransition(BookingError):
    """The reservation's state does not allow that change."""


class NotFound(BookingError):
    """No reservation has that code."""
