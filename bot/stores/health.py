"""Redis seen from the bot: each node's role, keys, memory and evictions, and the failovers
and outages the clients lived through; for ``/metrics`` and ``rsv360 cache stats``.

A node that does not answer is reported down, not skipped: that is the news. No command here
walks keys (no KEYS, no SCAN): counts come from each node's INFO.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge
from redis.asyncio import RedisCluster

from bot.stores.redis import RedisClient, RidesOutages

log = structlog.get_logger("rsv360.redis")


@dataclass(frozen=True, slots=True)
class NodeHealth:
    address: str
    up: bool
    role: str = "unknown"
    keys: int = 0
    used_memory_bytes: int = 0
    evicted_keys: int = 0
    expired_keys: int = 0


async def nodes(client: RedisClient) -> list[NodeHealth]:
    """Every node the client knows (a cluster's primaries and replicas, or the one server)."""
    if isinstance(client, RedisCluster):
        await client.initialize()
        return [
            await _health(node.name, client.info(target_nodes=node)) for node in client.get_nodes()
        ]
    kwargs = client.connection_pool.connection_kwargs
    address = f"{kwargs.get('host', 'unix')}:{kwargs.get('port', '')}"
    return [await _health(address, client.info(), database=int(kwargs.get("db", 0)))]


async def _health(address: str, asked: Awaitable[dict[str, Any]], database: int = 0) -> NodeHealth:
    try:
        info = await asked
    except Exception:
        return NodeHealth(address, up=False)
    keyspace = info.get(f"db{database}") or {}
    return NodeHealth(
        address,
        up=True,
        role=str(info.get("role", "unknown")),
        keys=int(keyspace.get("keys", 0)) if isinstance(keyspace, dict) else 0,
        used_memory_bytes=int(info.get("used_memory", 0)),
        evicted_keys=int(info.get("evicted_keys", 0)),
        expired_keys=int(info.get("expired_keys", 0)),
    )


class FailoverWatch:
    """Tells a failover by the set of primaries changing between two looks."""

    def __init__(self) -> None:
        self._primaries: set[str] | None = None
        self.failovers = 0

    def look(self, seen: list[NodeHealth]) -> None:
        primaries = {node.address for node in seen if node.up and node.role == "master"}
        if self._primaries is not None and primaries - self._primaries:
            self.failovers += 1
            log.warning(
                "redis_failover",
                promoted=sorted(primaries - self._primaries),
                gone=sorted(self._primaries - primaries),
            )
        self._primaries = primaries


class RedisHealthMetrics:
    """Gauges per node, refreshed when /metrics is read, and the clients' outage counts."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["node", "role"]
        self.up = Gauge("rsv_redis_node_up", "Node answers", labels, registry=registry)
        self.keys = Gauge("rsv_redis_node_keys", "Keys on the node", labels, registry=registry)
        self.memory = Gauge("rsv_redis_node_memory_bytes", "used_memory", labels, registry=registry)
        self.evicted = Gauge(
            "rsv_redis_node_evicted_keys", "Keys evicted by maxmemory", labels, registry=registry
        )
        self.failovers = Counter(
            "rsv_redis_failovers", "Primaries changed between two looks", registry=registry
        )
        self.outages = Gauge(
            "rsv_redis_outages", "Outages the clients rode out by retrying", registry=registry
        )
        self.outage_seconds = Gauge(
            "rsv_redis_outage_seconds", "Time spent in those outages", registry=registry
        )
        self._watch = FailoverWatch()

    async def refresh(self, client: RedisClient) -> list[NodeHealth]:
        seen = await nodes(client)
        for gauge in (self.up, self.keys, self.memory, self.evicted):
            gauge.clear()
        for node in seen:
            labels = (node.address, node.role)
            self.up.labels(*labels).set(1 if node.up else 0)
            self.keys.labels(*labels).set(node.keys)
            self.memory.labels(*labels).set(node.used_memory_bytes)
            self.evicted.labels(*labels).set(node.evicted_keys)
        before = self._watch.failovers
        self._watch.look(seen)
        self.failovers.inc(self._watch.failovers - before)
        if isinstance(client, RidesOutages):
            self.outages.set(client.outages.started)
            self.outage_seconds.set(client.outages.seconds)
        return seen
