"""The money without the conversation, for the ``rsv360 payments`` commands: the database and
the configured gateways, without the NLU model, the forecasts or any channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from actions.booking.reservations import Reservations
from actions.payments.assembly import build_payments, sandbox_checkout
from actions.payments.service import PaymentService
from bot.core.clock import system_now
from bot.core.observability import Metrics
from bot.core.render import Renderer
from bot.outbound.proactive import Notifier, PendingReplies
from bot.root.partners import standalone_partners
from bot.root.secret import secret_key
from bot.root.settings import PACKAGE_ROOT, Settings
from bot.stores import migrations
from bot.stores.database import Database, sqlite_url
from bot.stores.memory import MemoryListStore


@dataclass(frozen=True, slots=True)
class Books:
    """The money without the conversation: what ``rsv360 payments`` commands read."""

    database: Database
    payments: PaymentService
    metrics: Metrics


@asynccontextmanager
async def payments_books(settings: Settings) -> AsyncIterator[Books]:
    """The database and the configured gateways, without the NLU model, the forecasts or any
    channel, so a command that checks the money starts in a second."""
    database = Database(settings.database_url or sqlite_url(settings.data_dir))
    metrics = Metrics(CollectorRegistry())
    renderer = Renderer(PACKAGE_ROOT / "prompts", PACKAGE_ROOT / "locales", settings.default_locale)
    reservations = Reservations(database, system_now)
    checkout = sandbox_checkout(settings, secret_key(settings))
    notifier = Notifier(renderer, {}, PendingReplies(MemoryListStore()))
    partners = standalone_partners(settings, metrics.registry)
    # The checks and the reconciliation only read: nothing here raises a staff alert.
    payments, _ = build_payments(
        settings,
        database,
        reservations,
        checkout,
        notifier,
        metrics,
        renderer,
        settings.default_locale,
        alerts=None,
        partners=partners,
        now=system_now,
    )
    try:
        await migrations.ensure_current(database)
        yield Books(database, payments, metrics)
    finally:
        await partners.close()
        await database.close()
