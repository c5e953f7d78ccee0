"""The partner client as a worker builds it (on the runtime's cache, its rate windows counting
every worker's calls) and as a command builds it alone (``rsv360 payments``, ``rsv360 nlu``):
in this process, without rate limits (its few calls go one after another) and without
importing redis-py or the rate-limit library (docs/benchmarks.md, "Command-line start-up")."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from bot.core.clock import Now, system_now
from bot.partners.client import PartnerClient
from bot.partners.metrics import PartnerMetrics
from bot.root.settings import Settings
from bot.stores.cache import Cache, CacheMetrics
from bot.stores.memory import MemoryConversationOrder, MemoryCounterStore, MemoryValueStore

if TYPE_CHECKING:
    from bot.steps.ratelimit import RatePolicy
    from bot.stores.windows import RateWindows


def partner_client(
    settings: Settings,
    cache: Cache,
    windows: RateWindows,
    policy: RatePolicy,
    registry: CollectorRegistry,
    now: Now,
) -> PartnerClient:
    return PartnerClient(
        cache, windows, policy.partners, settings.partners, PartnerMetrics(registry), now=now
    )


def standalone_partners(settings: Settings, registry: CollectorRegistry) -> PartnerClient:
    """A partner client of this process alone (a command's): its calls are never cached, and
    its cache is there for the reads no command makes."""
    cache = Cache(
        MemoryValueStore(time.monotonic),
        MemoryConversationOrder(settings.order_max_wait_seconds),
        MemoryCounterStore(),
        CacheMetrics(registry),
    )
    return PartnerClient(
        cache, None, {}, settings.partners, PartnerMetrics(registry), now=system_now
    )
