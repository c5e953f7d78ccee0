"""The settings an admin changes in the console, wired to the parts that use them: each
setting's default file, its owner's parser and the swap that makes a value live (the rate
limiters, the FAQ, the price rules, the alert desk, the experiments). ``refresh_settings`` runs
in every process: it applies what another process saved, every
``RSV_CONSOLE_SETTINGS_REFRESH_SECONDS``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from actions.alerts.desk import AlertDesk
from actions.alerts.routing import Routing, RoutingError, parse_routing
from actions.booking.quotes import Quotes
from actions.faq.conversation import Faq
from actions.faq.knowledge import parse_knowledge
from actions.forecasts.desk import ForecastDesk
from actions.forecasts.price_rules import PriceRules, PriceRulesSource, parse_rules
from actions.services import Services
from actions.staff.accounts import StaffDirectory
from actions.staff.settings import Setting, SettingsDesk
from bot.core.clock import Now
from bot.core.documents import DocumentError, read_yaml
from bot.core.experiment_file import button_labels, load_experiments, parse_experiments
from bot.core.experiments import Experiments
from bot.core.goals import GoalEvents
from bot.edge.limits import EdgeLimiter
from bot.partners.client import PartnerClient
from bot.root.alerts import connect_webhooks
from bot.root.settings import PACKAGE_ROOT, Settings
from bot.steps.ratelimit import RateLimiter, RatePolicy
from bot.stores.database import Database

log = structlog.get_logger("rsv360.settings")

PROMPTS = PACKAGE_ROOT / "prompts"


def settings_desk(
    settings: Settings,
    database: Database,
    services: Services,
    limiter: RateLimiter,
    edges: EdgeLimiter,
    partners: PartnerClient,
    now: Now,
) -> SettingsDesk:
    return SettingsDesk(
        database,
        services.get(StaffDirectory),
        [
            rate_limits(settings, limiter, edges, partners),
            experiments(settings, services),
            *knowledge(settings, services.get(Faq)),
            *pricing(
                services.get(PriceRulesSource), services.get(Quotes), services.get(ForecastDesk)
            ),
            alert_routes(settings, services.get(AlertDesk)),
        ],
        now,
    )


def rate_limits(
    settings: Settings, limiter: RateLimiter, edges: EdgeLimiter, partners: PartnerClient
) -> Setting:
    def apply(policy: RatePolicy | None) -> None:
        policy = policy or RatePolicy.from_file(settings.rate_limits_file)
        limiter.replace(policy)
        edges.replace(policy.edges)
        partners.replace_limits(policy.partners)

    return Setting(
        "rate_limits",
        settings.rate_limits_file,
        lambda text: RatePolicy.from_document(read_yaml(text)),
        apply,
    )


def experiments(settings: Settings, services: Services) -> Setting:
    labels = button_labels(PROMPTS)

    def apply(declared: list[Any] | None) -> None:
        declared = (
            declared
            if declared is not None
            else load_experiments(settings.experiments_file, PROMPTS)
        )
        services.get(Experiments).replace(declared)
        services.get(GoalEvents).replace(declared)

    return Setting(
        "experiments",
        settings.experiments_file,
        lambda text: parse_experiments(read_yaml(text), PROMPTS, labels),
        apply,
    )


def knowledge(settings: Settings, faq: Faq) -> list[Setting]:
    """One setting per property that has a knowledge file."""
    topics = faq.topics.topics

    def one(path: Path) -> Setting:
        slug = path.stem
        default = faq.properties[slug]

        def apply(value: Any) -> None:
            faq.replace(value if value is not None else default)

        return Setting(
            f"knowledge/{slug}",
            path,
            lambda text: parse_knowledge(read_yaml(text), topics, slug),
            apply,
        )

    return [one(path) for path in sorted(settings.knowledge_dir.glob("*.yaml"))]


def pricing(source: PriceRulesSource, quotes: Quotes, forecasts: ForecastDesk) -> list[Setting]:
    """One setting per property that has a price limits file; a saved document names only the
    room types the property has in the catalog (when the catalog has the property)."""

    def one(path: Path) -> Setting:
        slug = path.stem

        async def known_rooms(rules: PriceRules) -> None:
            found = await quotes.property_by_slug(slug)
            if found is None:
                return
            rooms = (await forecasts.place(found)).units
            for index, season in enumerate(rules.seasons):
                for bound, prices in (("floor", season.floor), ("ceiling", season.ceiling)):
                    for room in prices:
                        if room not in rooms:
                            where = f"seasons[{index}].{bound}.{room}"
                            raise DocumentError(where, f"no room type {room!r} at {slug}")

        return Setting(
            f"pricing/{slug}",
            path,
            lambda text: parse_rules(read_yaml(text)),
            lambda rules: source.replace(slug, rules),
            known_rooms,
        )

    return [one(path) for path in sorted(source.directory.glob("*.yaml"))]


def alert_routes(settings: Settings, desk: AlertDesk) -> Setting:
    """Without a routing file the default is what ``RSV_STAFF_ALERTS`` says; a saved routing
    document replaces it. A destination whose way out this process lacks (a chat channel or
    e-mail not configured) is refused as start-up refuses it; a webhook's is connected."""
    default = desk.routing

    def parse(text: str) -> Routing:
        routing = parse_routing(text, settings.default_locale, settings.timezone)
        for destination in desk.unreachable(routing):
            channel = destination.target.channel
            if channel != "webhook":
                raise RoutingError(
                    f"line {destination.line}",
                    f"destination {destination.name!r} needs {channel}, which is not configured",
                )
        return routing

    def apply(routing: Routing | None) -> None:
        routing = routing if routing is not None else default
        connect_webhooks(desk, routing)
        desk.routing = routing

    return Setting("alert_routes", settings.alerts.routing_file, parse, apply)


async def refresh_settings(desk: SettingsDesk, every: float, sleep: Callable[[float], Any]) -> None:
    """Apply what other processes saved, every ``every`` seconds; a refresh that fails is logged
    and the next one tries again (the values in force stay)."""
    while True:
        await sleep(every)
        try:
            await desk.refresh()
        except Exception:
            log.exception("settings_refresh_failed")
