"""Redis URLs as the operator writes them: one server, or a cluster's start-up nodes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.stores.redis_url import InvalidRedisUrl, RedisTarget, parse_redis_url

hosts = st.one_of(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
)
ports = st.integers(1, 65535)


@given(st.lists(st.tuples(hosts, ports), min_size=1, max_size=6), st.booleans())
def test_a_cluster_url_names_its_nodes_in_order(nodes: list[tuple[str, int]], tls: bool) -> None:
    scheme = "rediss+cluster" if tls else "redis+cluster"
    target = parse_redis_url(f"{scheme}://" + ",".join(f"{h}:{p}" for h, p in nodes))
    assert target.cluster
    assert target.nodes == tuple(nodes)
    assert target.tls is tls
    assert target.limits_uri() == "async+redis+cluster://" + ",".join(f"{h}:{p}" for h, p in nodes)


def target_or_refusal(url: str) -> RedisTarget | str:
    try:
        return parse_redis_url(url)
    except InvalidRedisUrl as refusal:
        return str(refusal)


@given(st.text(max_size=60))
def test_any_text_is_a_target_or_a_clear_refusal(text: str) -> None:
    outcome = target_or_refusal(text)
    if isinstance(outcome, str):
        assert outcome
    else:
        assert all(0 < port < 65536 and host for host, port in outcome.nodes)


@given(st.text(max_size=30).map(lambda tail: "redis+cluster://" + tail))
def test_any_cluster_url_is_nodes_or_a_clear_refusal(url: str) -> None:
    outcome = target_or_refusal(url)
    if isinstance(outcome, str):
        assert outcome
    else:
        assert outcome.nodes
        assert all(0 < port < 65536 and host for host, port in outcome.nodes)


def test_credentials_ipv6_and_the_default_port() -> None:
    target = parse_redis_url("rediss+cluster://bot:p%40ss@[::1]:7000,cache-2")
    assert target.nodes == (("::1", 7000), ("cache-2", 6379))
    assert (target.username, target.password, target.tls) == ("bot", "p@ss", True)
    assert target.limits_uri() == "async+redis+cluster://[::1]:7000,cache-2:6379"


def test_a_single_server_url_is_kept_as_it_is() -> None:
    target = parse_redis_url("redis://127.0.0.1:6379/12")
    assert not target.cluster
    assert target.limits_uri() == "async+redis://127.0.0.1:6379/12"


def test_a_unix_socket_url_is_the_limits_librarys_redis_unix() -> None:
    target = parse_redis_url("unix:///run/redis/redis.sock?db=3")
    assert not target.cluster
    assert target.limits_uri() == "async+redis+unix:///run/redis/redis.sock?db=3"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://h:1", "starts with one of"),
        ("redis+cluster://h:1/3", "only database 0"),
        ("redis+cluster://h:99999", "port is a number"),
        ("redis+cluster://h:1,,h:2", "expected host:port"),
        ("redis+cluster://[zz]:1", "not an IPv6 address"),
        ("redis+cluster://h:1?ssl=true", "no ?options"),
    ],
)
def test_a_bad_url_is_refused_saying_why(url: str, why: str) -> None:
    with pytest.raises(InvalidRedisUrl, match=why.replace("?", r"\?")):
        parse_redis_url(url)


def test_the_setting_refuses_a_bad_cluster_url_at_start_up() -> None:
    from bot.root.settings import Settings

    with pytest.raises(ValueError, match="only database 0"):
        Settings(_env_file=None, redis_url="redis+cluster://h:1/2")  # type: ignore[call-arg]
