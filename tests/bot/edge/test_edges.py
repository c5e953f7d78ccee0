"""Limits per client address, API key and widget socket (``bot.edge.limits``), end to end
against the real application, with the rate-limits file's ``edges:`` made small enough to reach.

The aiohttp test client connects from 127.0.0.1; a test that wants other clients declares
127.0.0.1 a trusted proxy and names them in ``X-Forwarded-For``.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import WSMsgType, WSServerHandshakeError
from aiohttp.test_utils import TestClient

from bot.edge.limits import client_address, networks, subject
from bot.root.app import create_app
from bot.root.settings import PACKAGE_ROOT, Settings
from tests.support.widget_socket import receive

SettingsFactory = Callable[..., Settings]
URL = "/api/v1/messages"
KEY = "rest-key-for-edge-tests"


def limits_file(tmp_path: Path, **edges: str) -> Path:
    """The shipped rate-limits file with its ``edges:`` replaced."""
    document = yaml.safe_load((PACKAGE_ROOT / "bot" / "ratelimits.yaml").read_text())
    document["edges"] = edges
    path = tmp_path / f"limits-{uuid.uuid4().hex}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


LimitedApp = Callable[..., Awaitable[TestClient]]
"""``await limited_app({"rest_key": "3/minute"}, **settings)``: the app, its edges so limited."""


def limited(aiohttp_client: Any, settings: SettingsFactory, tmp_path: Path) -> LimitedApp:
    async def start(edges: dict[str, str], **overrides: Any) -> TestClient:
        limits = limits_file(tmp_path, **edges)
        return await aiohttp_client(create_app(settings(rate_limits_file=limits, **overrides)))

    return start


@pytest.fixture
def limited_app(aiohttp_client: Any, make_settings: SettingsFactory, tmp_path: Path) -> LimitedApp:
    """On the in-process stores."""
    return limited(aiohttp_client, make_settings, tmp_path)


@pytest.fixture
def limited_app_on_both(
    aiohttp_client: Any, backend_settings: SettingsFactory, tmp_path: Path
) -> LimitedApp:
    """On the in-process stores, then on Redis: the counters live there in production."""
    return limited(aiohttp_client, backend_settings, tmp_path)


@pytest.fixture
def proxied_app(limited_app: LimitedApp) -> LimitedApp:
    """Behind a proxy on this host: the test client's 127.0.0.1 is a trusted proxy, and the
    clients are who ``X-Forwarded-For`` names."""
    return functools.partial(limited_app, trusted_proxies="127.0.0.1/32")


async def post(client: TestClient, user: str, headers: dict[str, str] | None = None) -> Any:
    return await client.post(URL, json={"user_id": user, "text": "oi"}, headers=headers)


async def assert_too_many(response: Any) -> None:
    assert response.status == 429, await response.text()
    assert int(response.headers["Retry-After"]) >= 1
    assert (await response.json())["error"]["code"] == "rate_limited"


# --- the client's address -----------------------------------------------------------------------

PROXIES = networks(["10.0.0.0/8", "::1/128"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # untrusted peer: header ignored
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # left of the client: forged
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1, 10.0.0.3"], "198.51.100.1"),  # two proxies
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # repeated header
        ("10.0.0.2", ["10.0.0.7"], "10.0.0.7"),  # only proxies: the leftmost one
        ("10.0.0.2", ["garbage"], "10.0.0.2"),
        ("10.0.0.2", [], "10.0.0.2"),
        ("::1", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("::ffff:10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
    ],
)
def test_client_address_walks_trusted_proxies_from_the_right(
    peer: str, forwarded: list[str], client: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == client


def test_an_ipv6_client_counts_as_its_whole_slash_64() -> None:
    assert subject("2001:db8:1:2::1") == subject("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert subject("2001:db8:1:3::1") != subject("2001:db8:1:2::1")
    assert subject("198.51.100.1") == "198.51.100.1"
    assert subject(None) == subject("not an address") == "-"


# --- REST ---------------------------------------------------------------------------------------


async def test_one_api_key_is_limited_whatever_user_ids_it_sends(
    limited_app_on_both: LimitedApp,
) -> None:
    client = await limited_app_on_both({"rest_key": "3/minute"}, api_keys=KEY)
    auth = {"Authorization": f"Bearer {KEY}"}
    for _ in range(3):
        assert (await post(client, f"user-{uuid.uuid4().hex}", auth)).status == 200

    await assert_too_many(await post(client, f"user-{uuid.uuid4().hex}", auth))


async def test_rest_requests_are_limited_per_client_address(
    limited_app_on_both: LimitedApp,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = await limited_app_on_both({"rest_address": "2/minute"})
    for _ in range(2):
        assert (await post(client, f"user-{uuid.uuid4().hex}")).status == 200

    await assert_too_many(await post(client, f"user-{uuid.uuid4().hex}"))
    # Not behind a trusted proxy, a forged X-Forwarded-For is no new address.
    forged = {"X-Forwarded-For": "198.51.100.7"}
    await assert_too_many(await post(client, f"user-{uuid.uuid4().hex}", forged))
    refusals = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if "edge_limited" in line
    ]
    assert [line["edge"] for line in refusals] == ["rest_address", "rest_address"]
    assert "127.0.0.1" not in {line["client"] for line in refusals}, "a pseudonym, not the address"


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance(
    proxied_app: LimitedApp,
) -> None:
    client = await proxied_app({"rest_address": "1/minute"}, api_keys=KEY)
    auth = {"Authorization": f"Bearer {KEY}"}
    first = {**auth, "X-Forwarded-For": "198.51.100.1"}
    second = {**auth, "X-Forwarded-For": "6.6.6.6, 198.51.100.2"}

    assert (await post(client, "user-a", first)).status == 200
    assert (await post(client, "user-b", second)).status == 200
    await assert_too_many(await post(client, "user-c", first))
    # The address the client wrote itself (left of what the proxy added) changes nothing.
    await assert_too_many(
        await post(client, "user-d", {**auth, "X-Forwarded-For": "1.2.3.4, 198.51.100.2"})
    )


async def test_rest_without_keys_answers_the_loopback_peer_only_not_a_forwarded_client(
    proxied_app: LimitedApp,
) -> None:
    """Behind a proxy on the same host every peer is loopback: the forwarded client decides."""
    client = await proxied_app({})
    response = await post(client, "user-a", {"X-Forwarded-For": "198.51.100.1"})

    assert response.status == 401


# --- widget -------------------------------------------------------------------------------------


async def test_widget_connections_are_limited_per_address(limited_app_on_both: LimitedApp) -> None:
    client = await limited_app_on_both({"widget_connect_address": "2/minute"})
    sockets = [await client.ws_connect("/ws") for _ in range(2)]

    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/ws")

    assert refused.value.status == 429
    for socket in sockets:
        await socket.close()


async def hello(socket: Any) -> None:
    await socket.send_json({"type": "hello"})
    assert (await receive(socket))["type"] == "session"


async def assert_refused_frame(socket: Any) -> None:
    error = await receive(socket)
    assert error["type"] == "error", error
    assert error["code"] == "rate_limited"
    assert error["retry_after"] >= 1


async def test_fresh_hellos_on_one_socket_do_not_buy_a_new_allowance(
    limited_app_on_both: LimitedApp,
) -> None:
    client = await limited_app_on_both({"widget_hello_socket": "2/minute"})
    socket = await client.ws_connect("/ws")
    for _ in range(2):
        await hello(socket)

    await socket.send_json({"type": "hello"})

    await assert_refused_frame(socket)
    closing = await socket.receive(timeout=5.0)
    assert closing.type == WSMsgType.CLOSE
    assert socket.close_code == 1008


async def test_hellos_are_limited_per_address_across_sockets(limited_app: LimitedApp) -> None:
    client = await limited_app({"widget_hello_address": "2/minute"})
    for _ in range(2):
        socket = await client.ws_connect("/ws")
        await hello(socket)
        await socket.close()
    socket = await client.ws_connect("/ws")

    await socket.send_json({"type": "hello"})

    await assert_refused_frame(socket)


async def test_behind_a_trusted_proxy_widget_clients_are_counted_apart(
    proxied_app: LimitedApp,
) -> None:
    client = await proxied_app({"widget_connect_address": "1/minute"})
    for address in ("198.51.100.1", "198.51.100.2"):
        socket = await client.ws_connect("/ws", headers={"X-Forwarded-For": address})
        await hello(socket)
        await socket.close()

    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers={"X-Forwarded-For": "198.51.100.1"})

    assert refused.value.status == 429


async def test_messages_are_limited_per_socket_and_refused_unprocessed(
    limited_app: LimitedApp,
) -> None:
    client = await limited_app({"widget_message_socket": "1/minute"})
    socket = await client.ws_connect("/ws")
    await socket.send_json({"type": "hello"})
    assert (await receive(socket))["type"] == "session"
    await socket.send_json({"type": "message", "text": "oi"})
    assert (await receive(socket))["type"] == "typing"
    assert (await receive(socket))["type"] == "message"

    await socket.send_json({"type": "message", "text": "oi"})

    await assert_refused_frame(socket)  # no typing frame first: nothing reached the engine


# --- webhooks -----------------------------------------------------------------------------------


async def test_webhook_endpoints_are_limited_per_source_address(limited_app: LimitedApp) -> None:
    client = await limited_app({"webhook_address": "2/minute"})
    for _ in range(2):
        response = await client.post("/webhooks/payments/nowhere", data=b"{}")
        assert response.status == 404

    await assert_too_many(await client.post("/webhooks/payments/nowhere", data=b"{}"))


# --- admin authentication -----------------------------------------------------------------------

ADMIN_KEY = "admin-key-never-logged"


async def test_failed_admin_logins_are_logged_with_their_reason_and_then_refused(
    limited_app_on_both: LimitedApp,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = await limited_app_on_both(
        {"admin_failure_address": "3/hour"},
        payments_admin_keys=ADMIN_KEY,
    )
    good = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert (await client.get("/admin/refunds", headers=good)).status == 200
    attempts = [{}, {"Authorization": ADMIN_KEY}, {"Authorization": f"Bearer {ADMIN_KEY}x"}]
    for headers in attempts:
        assert (await client.get("/admin/refunds", headers=headers)).status == 401

    refused = await client.get("/admin/refunds", headers=good)

    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) >= 1
    output = capsys.readouterr().out
    lines = [json.loads(line) for line in output.splitlines() if "admin_unauthorised" in line]
    assert [(line["reason"], line["client"]) for line in lines] == [
        ("missing", "127.0.0.1"),
        ("malformed", "127.0.0.1"),
        ("unknown_key", "127.0.0.1"),
        ("too_many_failures", "127.0.0.1"),
    ]
    assert ADMIN_KEY not in output
