"""What actions can reach besides the message: built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Services:
    """Grows with the capabilities (booking, payments, forecasts) that need shared services."""

    brand: str
