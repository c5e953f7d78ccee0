"""The local guide plugs in: the places' files, the guide on the partner client, the guests'
``weather`` and ``events`` intents, and the weather line the booking offers may show."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actions.booking.notes import StayNotes
from actions.capability import Capability, Kit
from actions.local.conversation import LocalDesk, create_router, load_categories, stay_weather
from actions.local.guide import LocalGuide
from actions.local.places import load_places
from actions.local.settings import LocalSettings
from bot.core.types import Outcome


def plug(kit: Kit, settings: LocalSettings) -> Capability:
    def words(template: str, locale: str, values: Mapping[str, Any]) -> str:
        return kit.renderer.render(Outcome(template, values), locale, "plain").text

    guide = LocalGuide(kit.partners, load_places(settings.places_dir), settings.weather_url)
    desk = LocalDesk(guide, kit.default_property, settings.events_days, load_categories(), words)
    kit.services.provide(desk)
    notes = kit.services.get(StayNotes)
    notes.add(stay_weather(desk, kit.services.today), settings.booking_weather_seconds)
    return Capability(create_router())
