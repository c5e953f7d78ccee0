"""Every process's settings refresh: it waits its period, then applies what was saved, again and
again, whatever one refresh raised (driven by a sleep of the test's own, never the wall clock)."""

from __future__ import annotations

import pytest

from bot.root.live_settings import refresh_settings


class Stop(Exception):
    pass


class CountingDesk:
    """What the refresh loop asks of a desk: ``refresh``, counted; the first one fails."""

    def __init__(self) -> None:
        self.refreshed = 0

    async def refresh(self) -> list[str]:
        self.refreshed += 1
        if self.refreshed == 1:
            raise RuntimeError("a bug in one refresh")
        return []


async def test_the_refresh_waits_its_period_between_looks() -> None:
    desk = CountingDesk()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            raise Stop

    with pytest.raises(Stop):
        await refresh_settings(desk, 5.0, sleep)  # type: ignore[arg-type]
    assert waits == [5.0, 5.0, 5.0]
    assert desk.refreshed == 2
