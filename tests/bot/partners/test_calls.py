"""The partner client's ``call`` (requests that are never cached: payment gateways, the LLM)
against a local partner that makes things and replays a repeated idempotency key: what is
retried and what is not, the partner's Retry-After, refusals, the breaker, the rate limit per
API type and the metrics per API; in process and on Redis."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.partners.breaker import BreakerState
from bot.partners.client import PartnerError
from tests.fakes.base import FakeProvider, Fault
from tests.support.partners import Workers, sample

KEY = "Idempotency-Key"


class FakeMaker(FakeProvider):
    """Makes a thing per POST (``/things``), sets its state per PUT, shows it per GET."""

    def __init__(self) -> None:
        super().__init__()
        self.things: dict[str, dict[str, str]] = {}
        self._ids = itertools.count(1)
        self.app.router.add_post("/things", self._make)
        self.app.router.add_put("/things/{id}", self._set)
        self.app.router.add_get("/things/{id}", self._show)

    def idempotency_header(self) -> str:
        return KEY

    async def _make(self, request: web.Request) -> web.Response:
        thing_id = str(next(self._ids))
        self.things[thing_id] = {"id": thing_id, "state": "new"}
        return web.json_response(self.things[thing_id], status=201)

    async def _set(self, request: web.Request) -> web.Response:
        thing = self.things[request.match_info["id"]]
        thing["state"] = (await request.json())["state"]
        return web.json_response(thing)

    async def _show(self, request: web.Request) -> web.Response:
        found = self.things.get(request.match_info["id"])
        if found is None:
            return web.json_response({"error": "not_found"}, status=404)
        return web.json_response(found)


@pytest.fixture
async def maker() -> AsyncIterator[FakeMaker]:
    fake = FakeMaker()
    await fake.start()
    yield fake
    await fake.close()


async def test_a_post_is_retried_only_with_its_idempotency_key_and_makes_one_thing(
    partner_workers: Workers, maker: FakeMaker
) -> None:
    client = partner_workers.client()
    api = client.api("maker", "things")
    maker.fail(Fault(503, path="/things"))
    refused = await client.call(api, "POST", f"{maker.url}/things")
    assert (refused.status, maker.calls("POST", "/things"), maker.things) == (503, 1, {})
    maker.fail(Fault(503, path="/things"), Fault(502, path="/things"))
    made = await client.call(
        api, "POST", f"{maker.url}/things", headers={KEY: "make-1"}, safe_to_repeat=True
    )
    assert made.status == 201
    assert json.loads(made.body) == {"id": "1", "state": "new"}
    assert maker.calls("POST", "/things") == 4
    maker.fail(Fault(500, path="/things/1"))  # a PUT sets a state: repeating it is harmless
    put = await client.call(api, "PUT", f"{maker.url}/things/1", json={"state": "done"})
    assert (put.status, maker.things["1"]["state"]) == (200, "done")
    assert maker.calls("PUT", "/things/1") == 2
    registry = partner_workers.registries[0]
    assert sample(registry, "rsv_partner_api_calls_total", api="maker", result="server_error") == 4
    assert sample(registry, "rsv_partner_api_calls_total", api="maker", result="ok") == 2
    assert sample(registry, "rsv_partner_api_seconds_count", api="maker") == 6
    assert sample(registry, "rsv_partner_api_answers_total", api="maker", source="partner") == 3


async def test_an_answer_lost_on_the_way_is_asked_again_with_the_key_and_is_made_once(
    partner_workers: Workers, maker: FakeMaker
) -> None:
    client = partner_workers.client()
    api = client.api("maker", "things", timeout_seconds=0.3)
    # The partner makes the thing but answers after we stopped waiting.
    maker.fail(Fault(delay=1.0, lost=True, path="/things"))
    made = await client.call(
        api, "POST", f"{maker.url}/things", headers={KEY: "make-1"}, safe_to_repeat=True
    )
    assert made.status == 201
    assert maker.calls("POST", "/things") == 2
    assert list(maker.things) == ["1"]
    # Without a key, asking again would make another: the caller hears it is unknown.
    maker.fail(Fault(delay=1.0, lost=True, path="/things"))
    with pytest.raises(PartnerError) as unknown:
        await client.call(api, "POST", f"{maker.url}/things")
    assert unknown.value.failure == "unavailable"
    assert maker.calls("POST", "/things") == 3
    assert list(maker.things) == ["1", "2"]
    registry = partner_workers.registries[0]
    assert sample(registry, "rsv_partner_api_calls_total", api="maker", result="timeout") == 2
    assert sample(registry, "rsv_partner_api_answers_total", api="maker", source="none") == 1


async def test_a_throttled_call_waits_for_the_partners_retry_after(
    partner_workers: Workers, maker: FakeMaker
) -> None:
    client = partner_workers.client(backoff_max_seconds=10.0)
    api = client.api("maker", "things")
    maker.fail(Fault(429, path="/things", headers={"Retry-After": "7"}))
    made = await client.call(
        api, "POST", f"{maker.url}/things", headers={KEY: "make-1"}, safe_to_repeat=True
    )
    assert made.status == 201
    assert partner_workers.sleeps.delays == [7.0]
    registry = partner_workers.registries[0]
    assert sample(registry, "rsv_partner_api_calls_total", api="maker", result="throttled") == 1


async def test_a_refusal_is_the_answer_and_leaves_the_circuit_closed(
    partner_workers: Workers, maker: FakeMaker
) -> None:
    client = partner_workers.client(breaker_failures=2)
    api = client.api("maker", "things")
    for _ in range(4):  # a guest's made-up reference, asked again and again
        answer = await client.call(api, "GET", f"{maker.url}/things/404")
        assert (answer.status, json.loads(answer.body)) == (404, {"error": "not_found"})
    assert maker.calls("GET", "/things/404") == 4  # never retried
    assert client.breaker(api).state is BreakerState.CLOSED
    registry = partner_workers.registries[0]
    assert sample(registry, "rsv_partner_api_calls_total", api="maker", result="client_error") == 4


async def test_a_partner_down_opens_its_breaker_fails_fast_and_a_trial_closes_it(
    partner_workers: Workers, maker: FakeMaker
) -> None:
    client = partner_workers.client(breaker_failures=2, retries=1, breaker_open_seconds=30.0)
    api = client.api("maker", "things")
    other = client.api("other", "things")
    maker.fail(*(Fault(503, path="/things/1") for _ in range(4)))
    maker.things["1"] = {"id": "1", "state": "new"}
    for _ in range(2):
        assert (await client.call(api, "GET", f"{maker.url}/things/1")).status == 503
    assert client.breaker(api).state is BreakerState.OPEN
    with pytest.raises(PartnerError) as fast:
        await client.call(api, "GET", f"{maker.url}/things/1")
    assert fast.value.failure == "unavailable"
    assert maker.calls("GET", "/things/1") == 4  # the open circuit sent nothing
    assert (await client.call(other, "GET", f"{maker.url}/things/1")).status == 200  # its own
    registry = partner_workers.registries[0]
    assert sample(registry, "rsv_partner_api_breaker_state", api="maker") == 2
    assert sample(registry, "rsv_partner_api_breaker_state", api="other") == 0
    assert (
        sample(registry, "rsv_partner_api_skipped_total", api="maker", reason="breaker_open") == 1
    )
    partner_workers.ticks.now += 30.0
    assert (await client.call(api, "GET", f"{maker.url}/things/1")).status == 200  # the trial
    assert client.breaker(api).state is BreakerState.CLOSED
    assert sample(registry, "rsv_partner_api_breaker_state", api="maker") == 0


async def test_over_its_types_limit_no_call_goes_out_and_the_circuit_stays_closed(
    partner_workers: Workers, maker: FakeMaker
) -> None:
    client = partner_workers.client({"things": "2/minute"})
    api = client.api("maker", "things")
    for _ in range(2):
        await client.call(api, "GET", f"{maker.url}/things/404")
    with pytest.raises(PartnerError) as limited:
        await client.call(api, "GET", f"{maker.url}/things/404")
    assert limited.value.failure == "rate_limited"
    assert limited.value.retry_after >= 1.0
    assert maker.calls("GET", "/things/404") == 2
    assert client.breaker(api).state is BreakerState.CLOSED
    registry = partner_workers.registries[0]
    assert (
        sample(registry, "rsv_partner_api_skipped_total", api="maker", reason="rate_limited") == 1
    )
