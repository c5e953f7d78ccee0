"""A running bot whose local guide asks a local Open-Meteo and a local iCal server: the shipped
places files copied with the demo pousada's calendar feeds pointing at the fake."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.local.places import PLACES_DIR
from bot import Message, Reply
from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import Settings
from tests.fakes.calendars import FakeCalendars
from tests.fakes.open_meteo import Day, FakeOpenMeteo
from tests.support.clock import REFERENCE_DAY

Guide = Callable[..., AsyncIterator[Runtime]]


@pytest.fixture
async def open_meteo() -> AsyncIterator[FakeOpenMeteo]:
    fake = FakeOpenMeteo(REFERENCE_DAY)
    fake.days = {REFERENCE_DAY + timedelta(days=n): Day() for n in range(16)}
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def calendars() -> AsyncIterator[FakeCalendars]:
    fake = FakeCalendars()
    await fake.start()
    yield fake
    await fake.close()


def places_with_feeds(directory: Path, calendars: FakeCalendars) -> Path:
    """The shipped places, Pousada do Mar following the fake's ``city`` (music) and ``museum``
    (culture) feeds."""
    copy = directory / "places"
    shutil.copytree(PLACES_DIR, copy)
    path = copy / "pousada-do-mar.yaml"
    place = yaml.safe_load(path.read_text(encoding="utf-8"))
    place["calendars"] = [
        {"url": calendars.feed_url("city"), "category": "music"},
        {"url": calendars.feed_url("museum"), "category": "culture"},
    ]
    path.write_text(yaml.safe_dump(place, allow_unicode=True), encoding="utf-8")
    return copy


@pytest.fixture
def local_settings(
    make_settings: Callable[..., Settings],
    open_meteo: FakeOpenMeteo,
    calendars: FakeCalendars,
    tmp_path: Path,
) -> Callable[..., Settings]:
    places = places_with_feeds(tmp_path, calendars)

    def make(
        partners: dict[str, Any] | None = None,
        local: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> Settings:
        return make_settings(
            local={"weather_url": open_meteo.forecast_url, "places_dir": places} | (local or {}),
            partners={"backoff_seconds": 0.01, "backoff_max_seconds": 0.02} | (partners or {}),
            **overrides,
        )

    return make


@pytest.fixture
async def guide(local_settings: Callable[..., Settings]) -> AsyncIterator[Runtime]:
    async with runtime_lifespan(build_runtime(local_settings()), upkeep=False) as running:
        yield running


async def ask(runtime: Runtime, text: str, *, locale: str = "pt-BR", user: str = "guest") -> Reply:
    result = await runtime.engine.handle(Message("rest", user, user, text=text, locale_hint=locale))
    assert result.status == "handled"
    (reply,) = result.replies
    return reply


def day_after(days: int) -> date:
    return REFERENCE_DAY + timedelta(days=days)
