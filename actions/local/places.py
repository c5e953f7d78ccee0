"""What the capability knows of each property's surroundings, from
``actions/local/places/<slug>.yaml``: coordinates and time zone, suggestions per kind of day,
calendar feeds, events the staff list by hand and the climate normals per month. A file with a
mistake fails at start-up, naming the file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

PLACES_DIR = Path(__file__).resolve().parent / "places"
DayKind = Literal["sunny", "cloudy", "rainy", "windy"]
Words = dict[str, str]
"""One text per locale (pt_BR, en, es)."""
LOCALES = ("pt_BR", "en", "es")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Feed(_Strict):
    url: HttpUrl
    category: str


class ListedEvent(_Strict):
    name: Words
    start: date
    end: date
    category: str
    url: HttpUrl | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ListedEvent:
        if self.end < self.start:
            raise ValueError("an event ends before it starts")
        return self


class Normals(_Strict):
    high: float
    low: float
    rain_mm: float = Field(ge=0)
    rain_days: int = Field(ge=0, le=31)


class Place(_Strict):
    slug: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    timezone: str
    calendars: tuple[Feed, ...] = ()
    suggestions: dict[DayKind, Words]
    events: tuple[ListedEvent, ...] = ()
    climate: dict[int, Normals]

    @model_validator(mode="after")
    def _complete(self) -> Place:
        if sorted(self.climate) != list(range(1, 13)):
            raise ValueError("climate needs the twelve months, 1 to 12")
        for kind, words in self.suggestions.items():
            if set(words) != set(LOCALES):
                raise ValueError(f"suggestion {kind!r} needs {', '.join(LOCALES)}")
        return self


def load_places(directory: Path = PLACES_DIR) -> dict[str, Place]:
    places = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            place = Place.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (ValidationError, yaml.YAMLError) as error:
            raise ValueError(f"{path}: {error}") from error
        places[place.slug] = place
    return places
