"""How a capability plugs into the bot: each folder's ``capability.py`` has one ``plug``
function that takes the kit the composition root hands it (and its own settings), provides
the services its actions and later capabilities reach, and returns its router, its background
jobs and what to close at shutdown. The root lists the plugs in dependency order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from actions.services import Services
    from bot.core.clock import Now
    from bot.core.observability import Metrics
    from bot.core.render import Renderer
    from bot.core.router import Router
    from bot.jobs.job import Job
    from bot.jobs.queue import JobQueue
    from bot.outbound.media import MediaLibrary
    from bot.outbound.proactive import Notifier
    from bot.partners.client import PartnerClient
    from bot.stores.bundle import Stores
    from bot.stores.cache import Cache
    from bot.stores.database import Database


@dataclass(frozen=True, slots=True)
class Kit:
    """The engine's parts every capability may build on."""

    services: Services
    database: Database
    stores: Stores
    renderer: Renderer
    notifier: Notifier
    media: MediaLibrary
    cache: Cache
    jobs: JobQueue
    metrics: Metrics
    default_locale: str
    default_property: str
    partners: PartnerClient
    """The one outbound client for partner APIs (rate limits, cache, retries, breaker)."""
    now: Now
    """The bot's one clock (``bot.core.clock``): what every capability stamps and expires by."""


@dataclass(frozen=True, slots=True)
class Capability:
    router: Router[Services]
    jobs: Sequence[Job] = ()
    close: Callable[[], Awaitable[None]] | None = None
    """Called once at shutdown: drain what is in flight, close clients."""
