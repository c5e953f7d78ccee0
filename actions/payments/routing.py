"""Which gateways a reservation may be paid with: by property and currency, from settings.

A route is ``CURRENCY=gateway+gateway`` or ``property-slug/CURRENCY=gateway+...``; the
property's own route wins over the currency's. Gateways without credentials are left out, and
when nothing is left the built-in sandbox is offered, so a fresh install can always take a
(simulated) payment.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

SANDBOX = "sandbox"


@dataclass(frozen=True, slots=True)
class Routes:
    routes: dict[tuple[str | None, str], tuple[str, ...]]
    enabled: frozenset[str]

    @classmethod
    def parse(cls, entries: Sequence[str], enabled: Collection[str]) -> Routes:
        routes: dict[tuple[str | None, str], tuple[str, ...]] = {}
        for entry in entries:
            target, _, names = entry.partition("=")
            place, _, currency = target.rpartition("/")
            gateways = tuple(name.strip().lower() for name in names.split("+") if name.strip())
            if not currency.strip() or not gateways:
                raise ValueError(f"payment route {entry!r} is not CURRENCY=gateway[+gateway]")
            routes[(place.strip() or None, currency.strip().upper())] = gateways
        return cls(routes, frozenset(enabled) | {SANDBOX})

    def for_(self, property_slug: str, currency: str) -> list[str]:
        """The gateways the guest may choose from, preferred first; never empty."""
        wanted = self.routes.get((property_slug, currency)) or self.routes.get((None, currency))
        usable = [name for name in wanted or (SANDBOX,) if name in self.enabled]
        return usable or [SANDBOX]
