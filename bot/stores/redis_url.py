"""Where Redis is: one server (``redis://``, ``rediss://``, ``unix://``) or a Redis Cluster
(``redis+cluster://host:port,host:port`` or ``rediss+cluster://`` for TLS).

A cluster URL names a few of its nodes to start from (the client learns the rest from them); it
has no database number, since a cluster has only database 0. Parsing is pure, so a bad URL
fails at start-up with a message that says what is wrong, before any connection is tried.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import unquote

SINGLE_SCHEMES = ("redis", "rediss", "unix")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
DEFAULT_PORT = 6379


class InvalidRedisUrl(ValueError):
    """The Redis URL cannot be used; the message says why (never with the password)."""


@dataclass(frozen=True, slots=True)
class RedisTarget:
    url: str
    """As given: a single server's URL is handed to redis-py as it is."""
    cluster: bool
    nodes: tuple[tuple[str, int], ...] = ()
    """A cluster's start-up nodes (host, port)."""
    tls: bool = False
    username: str | None = None
    password: str | None = None

    def limits_uri(self) -> str:
        """The same place in the ``limits`` library's words (``async+redis+cluster://…``; TLS
        and credentials go to it as options, which its cluster scheme has no room for)."""
        if not self.cluster:
            scheme, _, rest = self.url.partition("://")
            # limits calls a unix socket redis+unix (and hands redis-py unix:// again).
            return f"async+redis+unix://{rest}" if scheme.lower() == "unix" else f"async+{self.url}"
        hosts = ",".join(f"{_bracketed(host)}:{port}" for host, port in self.nodes)
        return f"async+redis+cluster://{hosts}"


def parse_redis_url(url: str) -> RedisTarget:
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in SINGLE_SCHEMES + CLUSTER_SCHEMES:
        expected = ", ".join(f"{name}://" for name in SINGLE_SCHEMES + CLUSTER_SCHEMES)
        raise InvalidRedisUrl(f"a Redis URL starts with one of {expected}")
    if scheme in SINGLE_SCHEMES:
        return RedisTarget(url, cluster=False)
    authority, _, tail = rest.partition("/")
    if tail.split("?", 1)[0] not in ("", "0"):
        raise InvalidRedisUrl("a Redis Cluster has only database 0: drop the /number")
    if "?" in authority or "?" in tail:
        raise InvalidRedisUrl("a Redis Cluster URL takes no ?options")
    credentials, _, hosts = authority.rpartition("@")
    username, _, password = credentials.partition(":")
    nodes = tuple(_node(part) for part in hosts.split(","))
    return RedisTarget(
        url,
        cluster=True,
        nodes=nodes,
        tls=scheme == "rediss+cluster",
        username=unquote(username) or None,
        password=unquote(password) or None,
    )


def _node(text: str) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):
        host, bracket, after = text[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise InvalidRedisUrl(f"cluster node {text!r}: an IPv6 node is [address]:port")
        _check_ipv6(host)
        port_text = after[1:]
    else:
        host, _, port_text = text.partition(":")
        if not host or any(character in host for character in "[]@/ "):
            raise InvalidRedisUrl(f"cluster node {text!r}: expected host:port")
    return host, _port(text, port_text)


def _check_ipv6(host: str) -> None:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        raise InvalidRedisUrl(f"cluster node [{host}]: not an IPv6 address") from None


def _port(node: str, text: str) -> int:
    if not text:
        return DEFAULT_PORT
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 65536:
        raise InvalidRedisUrl(f"cluster node {node!r}: the port is a number from 1 to 65535")
    return int(text)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
