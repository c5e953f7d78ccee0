"""``/metrics`` and ``/readyz`` behind an optional bearer token and allowed networks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient

from bot.root.app import create_app
from bot.root.settings import Settings

SettingsFactory = Callable[..., Settings]
OPS = ("/metrics", "/readyz")
TOKEN = "scrape-token-for-tests"


async def statuses(client: TestClient, headers: dict[str, str] | None = None) -> list[int]:
    return [(await client.get(path, headers=headers)).status for path in OPS]


async def test_open_by_default_for_a_loopback_only_deployment(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings()))

    assert await statuses(client) == [200, 200]


async def test_a_configured_token_is_required(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings(ops_token=TOKEN)))

    assert await statuses(client) == [401, 401]
    assert await statuses(client, {"Authorization": "Bearer wrong"}) == [401, 401]
    assert await statuses(client, {"Authorization": TOKEN}) == [401, 401]
    assert await statuses(client, {"Authorization": f"Bearer {TOKEN}"}) == [200, 200]
    assert (await client.get("/healthz")).status == 200, "liveness tells nothing: stays open"


async def test_only_configured_networks_are_answered_by_their_real_address(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    settings = make_settings(ops_networks="10.0.0.0/8", trusted_proxies="127.0.0.1/32")
    client = await aiohttp_client(create_app(settings))

    assert await statuses(client) == [403, 403], "the proxy itself is not the scraper"
    assert await statuses(client, {"X-Forwarded-For": "10.1.2.3"}) == [200, 200]
    assert await statuses(client, {"X-Forwarded-For": "10.1.2.3, 198.51.100.4"}) == [403, 403]
