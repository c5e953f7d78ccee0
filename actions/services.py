"""What actions reach besides the message: each capability provides its own objects, and
actions look them up by type (``context.services.get(Quotes)``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar, cast

T = TypeVar("T")


class Services:
    def __init__(self, brand: str, today: Callable[[str], date]) -> None:
        self.brand = brand
        self.today = today
        """Today's date in a time zone (properties and conversations have their own)."""
        self._provided: dict[type, object] = {}

    def provide(self, *provided: object) -> None:
        """Make objects reachable by their class; a class provided twice is a wiring mistake."""
        for item in provided:
            kind = type(item)
            if kind in self._provided:
                raise ValueError(f"{kind.__name__} is already provided")
            self._provided[kind] = item

    def get(self, kind: type[T]) -> T:
        try:
            return cast(T, self._provided[kind])
        except KeyError:
            raise LookupError(f"no capability provides {kind.__name__}") from None
