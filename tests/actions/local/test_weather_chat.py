"""Guests ask about the weather, end to end against a local Open-Meteo: answers in three
languages with a suggestion per day and a chart, the guest's units, climate normals beyond the
forecast, the shared cache, the rate limit, a partner down and malformed answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from bot.root.app import Runtime, build_runtime, runtime_lifespan
from bot.root.settings import PACKAGE_ROOT, Settings
from tests.fakes.base import Fault
from tests.fakes.open_meteo import Day, FakeOpenMeteo
from tests.support.local_guide import ask, day_after

PATH = "/v1/forecast"


@pytest.mark.parametrize(
    ("question", "locale", "heading", "rainy_idea", "sunny_idea"),
    [
        (
            "vai chover no fim de semana em Ubatuba?",
            "pt-BR",
            "Tempo de",
            "Aquário de Ubatuba",
            "praia do Félix",
        ),
        (
            "will it rain this weekend in Ubatuba?",
            "en",
            "Weather from",
            "Ubatuba Aquarium",
            "Félix beach",
        ),
        (
            "¿va a llover el fin de semana en Ubatuba?",
            "es",
            "El tiempo del",
            "Acuario de Ubatuba",
            "playa del Félix",
        ),
    ],
)
async def test_the_weekend_forecast_in_the_guests_language_with_an_idea_per_day(
    guide: Runtime,
    open_meteo: FakeOpenMeteo,
    question: str,
    locale: str,
    heading: str,
    rainy_idea: str,
    sunny_idea: str,
) -> None:
    open_meteo.days[day_after(3)] = Day(high=24.4, low=19.0, rain_chance=85, rain_mm=14.2)
    reply = await ask(guide, question, locale=locale)
    assert heading in reply.text
    lines = [line for line in reply.text.splitlines() if line.startswith("•")]
    assert len(lines) == 3  # Saturday to Monday morning
    assert "19 " in lines[0]
    assert "24°C" in lines[0]
    assert "85%" in lines[0]
    assert "14.2 mm" in lines[0].replace(",", ".")
    assert rainy_idea in lines[0]
    assert sunny_idea in lines[1]
    assert reply.image is not None  # three days or more come with a chart
    stored = await guide.media.store.get(reply.image.url.rsplit("/", 1)[1])
    assert stored is not None
    assert stored.data.startswith(b"\x89PNG")
    ((_, path, _),) = open_meteo.requests
    assert path == PATH


async def test_one_day_has_no_chart_and_fahrenheit_is_remembered(
    guide: Runtime, open_meteo: FakeOpenMeteo
) -> None:
    reply = await ask(guide, "temperatures in fahrenheit for tomorrow please", locale="en")
    assert "°F" in reply.text
    assert "82°F" in reply.text  # 28 °C
    assert "mph" in reply.text
    assert reply.image is None
    reply = await ask(guide, "will it rain on saturday?", locale="en")
    assert "°F" in reply.text


async def test_beyond_the_forecast_the_months_climate_answers_without_asking_the_partner(
    guide: Runtime, open_meteo: FakeOpenMeteo
) -> None:
    reply = await ask(guide, "como vai estar o tempo de 10 a 14 de fevereiro em Ubatuba?")
    assert "A previsão ainda não chega" in reply.text
    assert "fevereiro: de 22 a 30°C, chuva em cerca de 16 dias." in reply.text
    assert open_meteo.requests == []


async def test_a_second_guest_is_answered_from_the_cache(
    guide: Runtime, open_meteo: FakeOpenMeteo
) -> None:
    first = await ask(guide, "previsão do tempo pro fim de semana", user="ana")
    second = await ask(guide, "previsão do tempo pro fim de semana", user="bruno")
    assert first.text == second.text
    assert open_meteo.calls("GET", PATH) == 1


def one_weather_call_a_minute(directory: Path) -> Path:
    limits = directory / "ratelimits.yaml"
    shipped = (PACKAGE_ROOT / "bot" / "ratelimits.yaml").read_text()
    limits.write_text(shipped.replace("weather: 300/minute", "weather: 1/minute"))
    return limits


async def test_over_the_rate_limit_the_guest_is_asked_to_try_again(
    local_settings: Callable[..., Settings], open_meteo: FakeOpenMeteo, tmp_path: Path
) -> None:
    limits = one_weather_call_a_minute(tmp_path)
    async with runtime_lifespan(
        build_runtime(local_settings(rate_limits_file=limits)), upkeep=False
    ) as runtime:
        assert "Tempo de" in (await ask(runtime, "vai chover amanhã?", user="ana")).text
        assert "Tempo de" in (await ask(runtime, "vai chover amanhã?", user="bruno")).text  # cached
        busy = await ask(runtime, "previsão do tempo pro fim de semana", user="carla")
    assert "Muitos hóspedes estão perguntando sobre o tempo" in busy.text
    assert open_meteo.calls("GET", PATH) == 1


async def test_a_partner_down_gets_an_apology_then_stale_answers_with_a_note_then_recovers(
    local_settings: Callable[..., Settings], open_meteo: FakeOpenMeteo
) -> None:
    partners = {
        "weather_cache_seconds": 0,
        "retries": 1,
        "breaker_failures": 2,
        "breaker_open_seconds": 0.3,
    }
    registry = CollectorRegistry()
    settings = local_settings(partners)
    async with runtime_lifespan(build_runtime(settings, registry), upkeep=False) as runtime:
        fresh = await ask(runtime, "vai chover amanhã?")
        open_meteo.fail(*[Fault(503, path=PATH)] * 50)
        stale = await ask(runtime, "vai chover amanhã?")
        assert "última previsão que tenho" in stale.text
        assert stale.text.endswith(fresh.text.splitlines()[-1])
        sorry = await ask(runtime, "vai chover no sábado?")  # never asked before: no copy
        assert "Não consegui a previsão do tempo agora" in sorry.text
        state = registry.get_sample_value("rsv_partner_api_breaker_state", {"api": "open-meteo"})
        assert state == 2
        calls = open_meteo.calls("GET", PATH)
        assert "última previsão" in (await ask(runtime, "vai chover amanhã?")).text
        assert open_meteo.calls("GET", PATH) == calls  # open: the partner is left alone

        open_meteo.faults.clear()
        await asyncio.sleep(0.35)  # the breaker's wait runs on the monotonic clock
        recovered = await ask(runtime, "vai chover amanhã?")
        assert "última previsão" not in recovered.text
        assert (
            registry.get_sample_value("rsv_partner_api_breaker_state", {"api": "open-meteo"}) == 0
        )
        failed = registry.get_sample_value(
            "rsv_partner_api_calls_total", {"api": "open-meteo", "result": "server_error"}
        )
        assert failed == 4


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",
        b'{"daily": {"time": ["2026-12-03"], "temperature_2m_max": []}}',
        b"\xff\xfe\x00",
        b"[" * 5000,
    ],
)
async def test_a_malformed_answer_is_logged_and_the_guest_told_politely(
    guide: Runtime, open_meteo: FakeOpenMeteo, body: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    open_meteo.raw = [(200, body)]
    reply = await ask(guide, "vai chover amanhã?")
    assert "Não consegui a previsão do tempo agora" in reply.text
    assert "partner_answer_malformed" in capsys.readouterr().out
    assert "Tempo de" in (await ask(guide, "vai chover amanhã?")).text  # nothing bad was kept
