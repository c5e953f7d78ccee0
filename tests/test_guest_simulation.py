"""The guest simulation (``tests/support/guest_simulation.py``) against the real app on a
loopback port: each journey once per language — the greeting and its menu, a holiday booking
whose usual stay is too short taken from the stays offered instead and confirmed, two questions
in one message — must reach its end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import ClientSession, web

from bot.root.app import create_app
from bot.root.settings import Settings
from tests.support.guest_simulation import LANGUAGES, journeys, simulate


@pytest.fixture
async def base_url(make_settings: Callable[..., Settings]) -> AsyncIterator[str]:
    runner = web.AppRunner(create_app(make_settings()))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_every_journey_reaches_its_end_in_every_language(base_url: str) -> None:
    async with ClientSession() as http:
        outcomes = await simulate(http, base_url, guests_per_journey=1)
    assert len(outcomes) == len(LANGUAGES) * len(journeys("en"))
    failed = [
        (o.journey, o.language, o.failed_at, o.answer, o.buttons)
        for o in outcomes
        if not o.completed
    ]
    assert failed == []
