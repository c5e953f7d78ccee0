"""The guest simulation (``tests/support/guest_simulation.py``) against the real app on a
loopback port: each journey once per language — the greeting and its menu, a holiday booking
whose usual stay is too short taken from the stays offered instead and confirmed, two questions
in one message — must reach its end."""

from __future__ import annotations

from aiohttp import ClientSession

from tests.support.guest_simulation import LANGUAGES, journeys, simulate


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
