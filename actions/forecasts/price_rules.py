"""A property's price suggestion limits (``pricing/<slug>.yaml`` or an override saved in the
console): sensitivity, the largest change and each season's floor and ceiling per room type.

Kept apart from ``pricing.py`` (pandas) so that a web process checks and holds the rules without
loading pandas; ``PriceRulesSource`` is what the answers read, so a saved change applies to the
next answer.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot.core.documents import DocumentError, mapping, only, read_yaml, text

RULES_FIELDS = frozenset({"sensitivity", "max_change_percent", "seasons"})
SEASON_FIELDS = frozenset({"name", "from", "to", "floor", "ceiling"})
MONTH_DAY = re.compile(r"(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")


@dataclass(frozen=True, slots=True)
class Season:
    name: str
    starts: str | None
    ends: str | None
    floor: dict[str, float]
    ceiling: dict[str, float]

    def contains(self, day: date) -> bool:
        if self.starts is None or self.ends is None:
            return True
        key = day.strftime("%m-%d")
        if self.starts <= self.ends:
            return self.starts <= key <= self.ends
        return key >= self.starts or key <= self.ends  # across the new year


@dataclass(frozen=True, slots=True)
class PriceRules:
    sensitivity: float
    max_change: float
    seasons: tuple[Season, ...]

    def season(self, day: date) -> Season | None:
        return next((season for season in self.seasons if season.contains(day)), None)


def parse_rules(loaded: Any) -> PriceRules:
    """The rules of a loaded document; ``DocumentError`` names the field
    (``seasons[1].floor.standard: above the ceiling``)."""
    document = mapping(loaded, "")
    only(document, RULES_FIELDS)
    sensitivity = _number(document.get("sensitivity", 0.5), "sensitivity", upper=10)
    max_change = _number(document.get("max_change_percent", 30), "max_change_percent", upper=100)
    seasons = document.get("seasons") or []
    if not isinstance(seasons, list):
        raise DocumentError("seasons", "must be a list of seasons")
    return PriceRules(
        sensitivity,
        max_change / 100,
        tuple(_season(item, f"seasons[{index}]") for index, item in enumerate(seasons)),
    )


def _season(loaded: Any, where: str) -> Season:
    declared = mapping(loaded, where)
    only(declared, SEASON_FIELDS, where)
    starts, ends = declared.get("from"), declared.get("to")
    for key, value in (("from", starts), ("to", ends)):
        if value is not None and not (isinstance(value, str) and MONTH_DAY.fullmatch(value)):
            raise DocumentError(f"{where}.{key}", f"{value!r} is not a day as MM-DD")
    if (starts is None) != (ends is None):
        raise DocumentError(where, "needs both from and to, or neither (the rest of the year)")
    floor = _prices(declared.get("floor"), f"{where}.floor")
    ceiling = _prices(declared.get("ceiling"), f"{where}.ceiling")
    for room, lowest in floor.items():
        if room in ceiling and lowest > ceiling[room]:
            raise DocumentError(f"{where}.floor.{room}", "above the ceiling")
    return Season(text(declared.get("name"), f"{where}.name", 60), starts, ends, floor, ceiling)


def _prices(loaded: Any, where: str) -> dict[str, float]:
    return {
        str(room): _number(price, f"{where}.{room}", positive=True)
        for room, price in mapping(loaded, where).items()
    }


def _number(value: Any, where: str, *, upper: float | None = None, positive: bool = False) -> float:
    """A finite number, at least 0 (above 0 when ``positive``), at most ``upper``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DocumentError(where, f"{value!r} is not a number")
    if value < 0 or (positive and value == 0):
        raise DocumentError(where, "must be positive")
    if upper is not None and value > upper:
        raise DocumentError(where, f"at most {upper:g}")
    return float(value)


def load_rules(directory: Path, slug: str) -> PriceRules | None:
    """The property's rules file, checked; None when it has none."""
    path = directory / f"{slug}.yaml"
    if not path.exists():
        return None
    try:
        return parse_rules(read_yaml(path.read_text(encoding="utf-8")))
    except DocumentError as error:
        raise DocumentError(f"{path}: {error.where}", error.reason) from None


class PriceRulesSource:
    """The rules each answer reads: the repo's file per property, unless a saved setting
    replaced it (``replace``; None goes back to the file)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._replaced: dict[str, PriceRules] = {}

    def rules(self, slug: str) -> PriceRules | None:
        replaced = self._replaced.get(slug)
        return replaced if replaced is not None else load_rules(self.directory, slug)

    def fingerprint(self, slug: str) -> str:
        """A short digest of the property's rules in force: a cached price answer is kept under
        it, so that changed limits are not answered with the old ones."""
        return hashlib.sha256(repr(self.rules(slug)).encode()).hexdigest()[:8]

    def replace(self, slug: str, rules: PriceRules | None) -> None:
        if rules is None:
            self._replaced.pop(slug, None)
        else:
            self._replaced[slug] = rules
