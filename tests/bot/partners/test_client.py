"""The partner client against a local Open-Meteo: the cache (and one call for a stampede),
retries with backoff and the partner's Retry-After, timeouts, the breaker with stale answers,
the rate limit per API type and malformed answers; in process and on Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.partners.breaker import BreakerState
from bot.partners.client import Fetched, PartnerClient, PartnerError
from tests.fakes.base import Fault
from tests.fakes.open_meteo import Day, FakeOpenMeteo
from tests.support.clock import REFERENCE_DAY
from tests.support.partners import Workers, sample

PATH = "/v1/forecast"


@pytest.fixture
async def open_meteo() -> AsyncIterator[FakeOpenMeteo]:
    fake = FakeOpenMeteo(REFERENCE_DAY)
    await fake.start()
    fake.days = {REFERENCE_DAY + timedelta(days=n): Day(high=25.0 + n) for n in range(7)}
    yield fake
    await fake.close()


def params(latitude: str = "-23.5076") -> dict[str, str]:
    return {
        "latitude": latitude,
        "longitude": "-45.1178",
        "daily": "temperature_2m_max",
        "timezone": "America/Sao_Paulo",
        "forecast_days": "7",
    }


def highs(body: str) -> list[float]:
    """A strict little parser: the highs, or ValueError."""
    document = json.loads(body)
    values = document["daily"]["temperature_2m_max"]
    if not isinstance(values, list):
        raise ValueError("no daily highs")
    return [float(value) for value in values]


async def ask(
    client: PartnerClient, fake: FakeOpenMeteo, latitude: str = "-23.5076"
) -> Fetched[list[float]]:
    return await client.fetch(
        client.api("open-meteo", "weather"), fake.forecast_url, params(latitude), highs
    )


async def test_a_second_asker_is_answered_from_the_cache(
    partner_workers: Workers, open_meteo: FakeOpenMeteo
) -> None:
    first, second = partner_workers.client(), partner_workers.client()
    answers = [await ask(first, open_meteo), await ask(second, open_meteo)]
    assert [answer.value[0] for answer in answers] == [25.0, 25.0]
    assert open_meteo.calls("GET", PATH) == 1
    first_registry, second_registry = partner_workers.registries
    assert (
        sample(first_registry, "rsv_partner_api_answers_total", api="open-meteo", source="partner")
        == 1
    )
    assert (
        sample(second_registry, "rsv_partner_api_answers_total", api="open-meteo", source="cache")
        == 1
    )
    assert sample(first_registry, "rsv_partner_api_calls_total", api="open-meteo", result="ok") == 1
    assert sample(first_registry, "rsv_partner_api_seconds_count", api="open-meteo") == 1


async def test_a_stampede_of_guests_makes_one_call(
    partner_workers: Workers, open_meteo: FakeOpenMeteo
) -> None:
    clients = [partner_workers.client() for _ in range(3)]
    open_meteo.fail(Fault(delay=0.3, path=PATH))  # slow enough for everyone to miss together
    answers = await asyncio.gather(*(ask(clients[n % 3], open_meteo) for n in range(9)))
    assert {answer.value[0] for answer in answers} == {25.0}
    assert open_meteo.calls("GET", PATH) == 1


async def test_5xx_and_429_are_retried_after_backoff_or_the_partners_retry_after(
    partner_workers: Workers, open_meteo: FakeOpenMeteo
) -> None:
    client = partner_workers.client(retries=3, backoff_seconds=0.2, backoff_max_seconds=5.0)
    open_meteo.fail(
        Fault(503, path=PATH),
        Fault(429, path=PATH, headers={"Retry-After": "3"}),
        Fault(502, path=PATH),
    )
    answer = await ask(client, open_meteo)
    assert answer.value[0] == 25.0
    assert not answer.stale
    assert open_meteo.calls("GET", PATH) == 4
    # full jitter with random() = 0.5: half of 0.2, then the partner's 3 s, then half of 0.8
    assert partner_workers.sleeps.delays == [0.1, 3.0, 0.4]
    registry = partner_workers.registries[0]
    assert (
        sample(registry, "rsv_partner_api_calls_total", api="open-meteo", result="server_error")
        == 2
    )
    assert (
        sample(registry, "rsv_partner_api_calls_total", api="open-meteo", result="throttled") == 1
    )


async def test_a_timeout_is_retried(partner_workers: Workers, open_meteo: FakeOpenMeteo) -> None:
    client = partner_workers.client(timeout_seconds=0.2)
    open_meteo.fail(Fault(delay=1.0, path=PATH))
    assert (await ask(client, open_meteo)).value[0] == 25.0
    registry = partner_workers.registries[0]
    assert sample(registry, "rsv_partner_api_calls_total", api="open-meteo", result="timeout") == 1
    assert sample(registry, "rsv_partner_api_calls_total", api="open-meteo", result="ok") == 1


async def test_a_refusal_is_not_retried(
    partner_workers: Workers, open_meteo: FakeOpenMeteo
) -> None:
    client = partner_workers.client()
    with pytest.raises(PartnerError) as refused:
        await client.fetch(
            client.api("open-meteo", "weather"), open_meteo.forecast_url, {"latitude": "x"}, highs
        )
    assert refused.value.failure == "unavailable"
    assert open_meteo.calls("GET", PATH) == 1
    assert partner_workers.sleeps.delays == []


async def test_a_malformed_answer_is_neither_kept_nor_retried(
    partner_workers: Workers, open_meteo: FakeOpenMeteo
) -> None:
    client = partner_workers.client()
    open_meteo.raw = [(200, b'{"daily": {"temperature_2m_max": "hot"'), (200, b"\xff\xfe")]
    for _ in range(2):
        with pytest.raises(PartnerError) as malformed:
            await ask(client, open_meteo)
        assert malformed.value.failure == "malformed"
    assert (await ask(client, open_meteo)).value[0] == 25.0  # nothing bad was kept
    assert open_meteo.calls("GET", PATH) == 3
    registry = partner_workers.registries[0]
    assert (
        sample(registry, "rsv_partner_api_calls_total", api="open-meteo", result="malformed") == 2
    )


async def test_a_partner_down_opens_the_breaker_answers_stale_and_closes_on_recovery(
    partner_workers: Workers, open_meteo: FakeOpenMeteo
) -> None:
    client = partner_workers.client(
        retries=0, weather_cache_seconds=0, breaker_failures=2, breaker_open_seconds=30
    )
    api = client.api("open-meteo", "weather")
    registry = partner_workers.registries[0]
    assert (await ask(client, open_meteo)).stale is False  # a good answer, kept as the stale copy
    open_meteo.fail(*[Fault(500, path=PATH)] * 10)
    answers = [await ask(client, open_meteo) for _ in range(2)]
    assert [answer.stale for answer in answers] == [True, True]
    assert client.breaker(api).state is BreakerState.OPEN
    assert sample(registry, "rsv_partner_api_breaker_state", api="open-meteo") == 2
    calls = open_meteo.calls("GET", PATH)
    answer = await ask(client, open_meteo)  # open: fails fast, the partner is not asked
    assert answer.stale
    assert answer.value[0] == 25.0
    assert open_meteo.calls("GET", PATH) == calls
    assert (
        sample(registry, "rsv_partner_api_skipped_total", api="open-meteo", reason="breaker_open")
        == 1
    )
    with pytest.raises(PartnerError):  # a place never asked before has no stale copy
        await ask(client, open_meteo, latitude="-23.0")

    open_meteo.faults.clear()  # the partner recovers
    partner_workers.ticks.now += 31
    assert client.breaker(api).state is BreakerState.HALF_OPEN
    assert (await ask(client, open_meteo)).stale is False  # the trial call
    assert client.breaker(api).state is BreakerState.CLOSED
    assert sample(registry, "rsv_partner_api_breaker_state", api="open-meteo") == 0


async def test_a_failed_trial_call_opens_the_breaker_again(
    partner_workers: Workers, open_meteo: FakeOpenMeteo
) -> None:
    client = partner_workers.client(retries=0, breaker_failures=1, breaker_open_seconds=30)
    api = client.api("open-meteo", "weather")
    open_meteo.fail(*[Fault(500, path=PATH)] * 2)
    with pytest.raises(PartnerError):
        await ask(client, open_meteo)
    partner_workers.ticks.now += 31
    with pytest.raises(PartnerError):
        await ask(client, open_meteo)
    assert client.breaker(api).state is BreakerState.OPEN
    assert open_meteo.calls("GET", PATH) == 2


async def test_over_the_rate_limit_the_cache_answers_or_the_caller_hears_why(
    partner_workers: Workers, open_meteo: FakeOpenMeteo
) -> None:
    client = partner_workers.client({"weather": "2/minute"}, weather_cache_seconds=0)
    await ask(client, open_meteo, latitude="-23.1")
    await ask(client, open_meteo, latitude="-23.2")
    stale = await ask(client, open_meteo, latitude="-23.1")
    assert stale.stale
    assert stale.value[0] == 25.0
    with pytest.raises(PartnerError) as limited:
        await ask(client, open_meteo, latitude="-23.3")
    assert limited.value.failure == "rate_limited"
    assert limited.value.retry_after >= 1.0
    assert open_meteo.calls("GET", PATH) == 2
    registry = partner_workers.registries[0]
    assert (
        sample(registry, "rsv_partner_api_skipped_total", api="open-meteo", reason="rate_limited")
        == 2
    )
    assert client.breaker(client.api("open-meteo", "weather")).state is BreakerState.CLOSED


async def test_a_stale_copy_the_parser_now_refuses_is_no_answer(
    partner_workers: Workers, open_meteo: FakeOpenMeteo
) -> None:
    client = partner_workers.client(retries=0, weather_cache_seconds=0)
    await ask(client, open_meteo)
    open_meteo.fail(Fault(500, path=PATH))

    def refuses(body: str) -> list[float]:
        raise ValueError("kept by an older version")

    with pytest.raises(PartnerError):
        await client.fetch(
            client.api("open-meteo", "weather"), open_meteo.forecast_url, params(), refuses
        )
    registry = partner_workers.registries[0]
    assert sample(registry, "rsv_partner_api_answers_total", api="open-meteo", source="none") == 1
