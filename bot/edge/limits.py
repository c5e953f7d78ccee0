"""Limits at the edges of the server, counted before any message reaches the engine.

The per-user limits (``bot.steps.ratelimit``) trust the user id a client sends; these count what a
client cannot choose: its network address, its API key, its widget socket. They are declared
under ``edges:`` in the rate-limits file. The client address is the peer's, or, when the peer is
one of our trusted proxies, the first untrusted hop of ``X-Forwarded-For`` read from the right:
hops to the left of it were written by the client and prove nothing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from limits import RateLimitItem

from bot.core.observability import Metrics, pseudonym
from bot.stores.windows import RateWindows

log = structlog.get_logger("rsv360.limits")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) as networks; a malformed one fails at start-up."""
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def within(text: str | None, allowed: Sequence[Network]) -> bool:
    address = _address(text) if text is not None else None
    return address is not None and any(address in network for network in allowed)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str | None:
    """The address that a request really came from, as far as trusted proxies vouch for it."""
    if not within(peer, trusted):
        return peer
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return client  # a trusted proxy never writes garbage: stop at the last known hop
        client = str(address)
        if not within(client, trusted):
            return client
    return client


def subject(address: str | None) -> str:
    """Who an address limit counts: an IPv6 client owns its whole /64, so it counts as one."""
    parsed = _address(address) if address is not None else None
    if parsed is None:
        return "-"
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def key_identity(key: str) -> str:
    """A limit's name for an API key: the key itself never reaches Redis or the logs."""
    return hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class EdgeDecision:
    allowed: bool
    retry_after: float = 0.0


class EdgeLimiter:
    """Counts requests per edge (``rest_address``, ``widget_hello_socket`` …) and client."""

    def __init__(
        self,
        windows: RateWindows,
        limits: Mapping[str, RateLimitItem],
        trusted: Sequence[Network],
        metrics: Metrics,
    ) -> None:
        self._limiter = windows
        self._limits = dict(limits)
        self.trusted = tuple(trusted)
        self._metrics = metrics

    def replace(self, limits: Mapping[str, RateLimitItem]) -> None:
        """Count by ``limits`` from the next request on (a setting saved in the console)."""
        self._limits = dict(limits)

    async def hit(self, edge: str, who: str | None) -> EdgeDecision:
        """Count one request; refused when the client is over the edge's limit."""
        item = self._limits.get(edge)
        if item is None:
            return EdgeDecision(True)
        if await self._limiter.hit(item, edge, who or "-"):
            return EdgeDecision(True)
        return await self._refusal(item, edge, who)

    async def check(self, edge: str, who: str | None) -> EdgeDecision:
        """Whether one more would be allowed, without counting it (failures count themselves)."""
        item = self._limits.get(edge)
        if item is None or await self._limiter.test(item, edge, who or "-"):
            return EdgeDecision(True)
        return await self._refusal(item, edge, who)

    async def _refusal(self, item: RateLimitItem, edge: str, who: str | None) -> EdgeDecision:
        self._metrics.rate_limited.labels("edge", edge).inc()
        log.info("edge_limited", edge=edge, client=pseudonym(who or "-"))
        stats = await self._limiter.stats(item, edge, who or "-")
        return EdgeDecision(False, max(stats.reset_time - time.time(), 1.0))
