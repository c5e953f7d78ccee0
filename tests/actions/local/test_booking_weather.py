"""The booking offers carry one line of weather for the chosen dates when the forecast reaches
them; a partner that is down or slow leaves the line out and the booking goes on."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import Settings
from tests.fakes.base import Fault
from tests.fakes.open_meteo import Day, FakeOpenMeteo
from tests.support.local_guide import ask, day_after

NEAR_STAY = "quero reservar na pousada do mar de 5 a 8 de dezembro, somos um casal"
"""Three nights three days ahead of the suite's "now", within the forecast's reach."""


async def test_the_offers_mention_the_weather_for_the_dates(
    guide: Runtime, open_meteo: FakeOpenMeteo
) -> None:
    open_meteo.days[day_after(4)] = Day(high=26.0, low=20.0, rain_chance=90, rain_mm=20.0)
    offers = await ask(guide, NEAR_STAY)
    assert offers.text.startswith("Disponível na Pousada do Mar")
    assert "Tempo nas suas datas: de 20 a 28°C, chuva provável em 1 de 4 dias." in offers.text
    ((_, _, _),) = open_meteo.requests


async def test_a_stay_beyond_the_forecast_gets_no_line_and_no_call(
    guide: Runtime, open_meteo: FakeOpenMeteo
) -> None:
    offers = await ask(guide, "quero reservar na pousada do mar de 3 a 6 de março, somos um casal")
    assert "Disponível na Pousada do Mar" in offers.text
    assert "Tempo nas suas datas" not in offers.text
    assert open_meteo.requests == []


async def test_a_partner_down_or_slow_leaves_the_line_out(
    local_settings: Callable[..., Settings], open_meteo: FakeOpenMeteo
) -> None:
    settings = local_settings({"retries": 0}, local={"booking_weather_seconds": 0.5})
    async with runtime_lifespan(build_runtime(settings), upkeep=False) as runtime:
        open_meteo.fail(Fault(503, path="/v1/forecast"))
        down = await ask(runtime, NEAR_STAY, user="ana")
        open_meteo.fail(Fault(delay=3.0, path="/v1/forecast"))
        started = time.monotonic()
        slow = await ask(runtime, NEAR_STAY, user="bruno")
        waited = time.monotonic() - started
    for offers in (down, slow):
        assert offers.text.startswith("Disponível na Pousada do Mar")
        assert "Tempo nas suas datas" not in offers.text
    assert waited < 2.5  # the half-second limit, not the partner's three seconds
