"""The composition root: the only place that turns settings into running parts.

``build_runtime`` wires the engine (stores, pipeline, routers, renderer) without I/O;
``runtime_lifespan`` owns the connections and fails fast when a dependency is down;
``create_app`` mounts every enabled channel in one aiohttp application. The payment gateways
(``bot.root.payments``) and the Telegram, Slack and Discord channels
(``bot.root.providers``) are wired in modules of their own, part of this root.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

import structlog
from aiohttp import web
from jinja2 import Environment, FileSystemLoader
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode

import actions.alerts.capability as alerts
import actions.booking.capability as booking
import actions.experiments.capability as experiments
import actions.faq.capability as faq
import actions.forecasts.capability as forecasts
import actions.handoff.capability as handoff
import actions.lifecycle.capability as lifecycle
import actions.local.capability as local
import actions.payments.capability as payments
import actions.privacy.capability as privacy
import actions.smalltalk.capability as smalltalk
import actions.staff.capability as staff
from actions.alerts.desk import AlertDesk
from actions.booking.catalog import seed
from actions.capability import Capability, Kit
from actions.handoff.desk import HandoffDesk, Relay
from actions.handoff.escalation import Escalate, MoodMetrics
from actions.handoff.store import guest_handoff_key
from actions.handoff.transcripts import Transcribe, Transcripts
from actions.lifecycle.config import load_config
from actions.payments.desk import PaymentsDesk
from actions.payments.sandbox import SandboxCheckout, SandboxPayments
from actions.services import Services
from actions.staff.settings import SettingsDesk
from bot.core.clock import Now, system_now, today_in
from bot.core.dispatch import Dispatcher
from bot.core.engine import Engine
from bot.core.experiment_file import load_experiments
from bot.core.experiments import Experiments
from bot.core.goals import GoalEvents, ReplyGoal
from bot.core.observability import Metrics, Observe, configure_pseudonyms
from bot.core.pipeline import Middleware
from bot.core.render import Markup, Renderer
from bot.core.respond import Recover, Responder
from bot.core.roles import RoleBook
from bot.core.router import Router
from bot.edge.limits import EdgeLimiter, networks
from bot.jobs.queue import JobQueue
from bot.outbound.media import MediaLibrary
from bot.outbound.outbox import DurableOutbox
from bot.outbound.proactive import Notifier, PendingReplies
from bot.partners.client import PartnerClient
from bot.root.alerts import (
    alert_routing,
    connect_alert_chats,
    connect_alert_mail,
    mount_alertmanager,
)
from bot.root.console import mount_console
from bot.root.jobs import delivery_job, job_queue
from bot.root.live_settings import refresh_settings, settings_desk
from bot.root.partners import partner_client
from bot.root.providers import PROVIDER_CHANNELS, mount_provider_channels
from bot.root.secret import secret_key
from bot.root.settings import PACKAGE_ROOT, Settings
from bot.steps.dedupe import DedupeStore
from bot.steps.normalise import NormaliseText
from bot.steps.ordering import Order
from bot.steps.ratelimit import RateLimit, RateLimiter, RatePolicy
from bot.steps.understanding import ASSIST_PROMPT, Understand
from bot.stores import migrations
from bot.stores.bundle import RedisClients, Stores, build_stores
from bot.stores.cache import Cache, CacheMetrics
from bot.stores.database import Database, sqlite_url
from bot.stores.health import RedisHealthMetrics
from bot.stores.private import private_directory
from bot.stores.redis import (
    CLUSTER_HANDSHAKE,
    OutageRidingCluster,
    OutageRidingRedis,
    Outages,
    RidesOutages,
)
from bot.stores.redis_url import RedisTarget, parse_redis_url
from bot.stores.windows import RateWindows
from channels.checkout import CheckoutPages
from channels.edges import edge_middleware
from channels.media import MediaRoutes
from channels.ops import OpsAccess
from channels.payment_admin import RefundAdmin
from channels.payment_webhooks import PaymentWebhooks
from channels.rest import RestChannel
from channels.web import CHANNEL as WEB
from channels.web import WebChannel
from intents.artifacts import ModelStore, load_serving_or_train
from intents.entities import EntityExtractor
from intents.mood import load_or_train as load_mood_or_train
from intents.understanding import ModelUnderstanding

log = structlog.get_logger("rsv360.app")

MARKUPS: dict[str, Markup] = {"web": "html", "rest": "plain", "terminal": "plain"}
HTML_CHANNELS = frozenset(channel for channel, markup in MARKUPS.items() if markup == "html")


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: Engine[Services]
    renderer: Renderer
    metrics: Metrics
    redis: RedisClients | None
    stores: Stores
    database: Database
    services: Services
    """What the capabilities provide, by type (``runtime.services.get(Reservations)``)."""
    capabilities: list[Capability]
    notifier: Notifier
    media: MediaLibrary
    roles: RoleBook
    edges: EdgeLimiter
    jobs: JobQueue
    jobs_redis: Redis | None
    outboxes: dict[str, DurableOutbox]
    """The provider channels' durable outboxes, by channel, when the job queue is durable."""
    cache: Cache
    redis_health: RedisHealthMetrics
    partners: PartnerClient
    settings_desk: SettingsDesk
    """The settings saved in the console, applied here (``refresh_settings``)."""
    now: Now
    """The clock every part asks (``bot.core.clock``)."""


def plug_capabilities(settings: Settings, kit: Kit) -> list[Capability]:
    """Every capability, in dependency order: a plug reaches what earlier ones provide."""
    messages = load_config(settings.lifecycle.directory)
    return [
        alerts.plug(kit, settings.alerts, alert_routing(settings)),
        experiments.plug(
            kit, load_experiments(settings.experiments_file, PACKAGE_ROOT / "prompts")
        ),
        booking.plug(kit, settings.hold_minutes, messages.hold_reminder_on),
        payments.plug(kit, settings, secret_key(settings)),
        faq.plug(kit, settings.knowledge_dir),
        forecasts.plug(
            kit,
            settings.forecast,
            settings.forecast_model_directory,
            settings.pricing_dir,
            answer_in_jobs=kit.jobs.durable and not settings.jobs.in_serve,
            child_logging=(settings.log_format, settings.log_level),
        ),
        local.plug(kit, settings.local),
        handoff.plug(kit, settings.handoff_address),
        lifecycle.plug(kit, settings.lifecycle, messages),
        privacy.plug(kit, settings.privacy),
        staff.plug(kit, settings.timezone),
        smalltalk.plug(kit),
    ]


def build_runtime(
    settings: Settings,
    registry: CollectorRegistry | None = None,
    override: Router[Services] | None = None,
    now: Now = system_now,
) -> Runtime:
    """Wire the engine; ``override`` is a router consulted before the capabilities' (tests add
    or replace intents with it); ``now`` is the clock every part asks (``bot.core.clock``)."""
    private_directory(settings.data_dir)
    configure_pseudonyms(secret_key(settings))
    metrics = Metrics(registry or CollectorRegistry())
    redis = redis_clients(settings)
    stores = build_stores(
        redis, settings.order_lease_seconds, settings.order_max_wait_seconds, time.monotonic
    )
    renderer = Renderer(PACKAGE_ROOT / "prompts", PACKAGE_ROOT / "locales", settings.default_locale)
    policy = RatePolicy.from_file(settings.rate_limits_file)
    # One outage of the server, whichever of the clients meets it first: counted once.
    outages = redis.client.outages if redis and isinstance(redis.client, RidesOutages) else None
    windows = RateWindows(stores.rate_limits, settings.redis_outage_seconds, outages)
    limiter = RateLimiter(windows, policy)
    notifier = Notifier(renderer, MARKUPS, PendingReplies(stores.pending_replies), stores.wakeups)
    database = Database(settings.database_url or sqlite_url(settings.data_dir))
    media = MediaLibrary(stores.media, settings.base_url)
    cache = Cache(stores.cache, stores.order, stores.cache_counts, CacheMetrics(metrics.registry))
    jobs, jobs_redis = job_queue(settings, metrics.loops)
    partners = partner_client(settings, cache, windows, policy, metrics.registry, now)
    services = Services(settings.brand, lambda zone: today_in(zone, now))
    services.provide(media)
    kit = Kit(
        services,
        database,
        stores,
        renderer,
        notifier,
        media,
        cache,
        jobs,
        metrics,
        settings.default_locale,
        settings.default_property,
        partners,
        now,
    )
    capabilities = plug_capabilities(settings, kit)
    responder = Responder(renderer, services.get(Experiments), MARKUPS, metrics)
    connect_alert_mail(services.get(AlertDesk), settings)
    steps: list[Middleware] = [
        Observe(metrics),
        Recover(responder),
        NormaliseText(),
        Order(
            stores.order,
            limiter,
            responder,
            metrics,
            settings.session_ttl_seconds,
            settings.session_max_bytes,
            settings.default_locale,
            settings.dedupe_ttl_seconds,
            reading=[guest_handoff_key],
        ),
        Transcribe(services.get(Transcripts), HTML_CHANNELS),
        ReplyGoal(services.get(GoalEvents)),
        Relay(services.get(HandoffDesk)),
        Understand(
            build_understanding(settings, partners, lambda: today_in(settings.timezone, now)),
            services.get(Experiments) if settings.llm.base_url is not None else None,
        ),
        Escalate(MoodMetrics(metrics.registry)),
        RateLimit(limiter, responder, metrics),
    ]
    router: Router[Services] = Router("root")
    if override is not None:
        router.include_router(override)
    for capability in capabilities:
        router.include_router(capability.router)
    engine = Engine(steps, Dispatcher(router), responder, services, now)
    edges = EdgeLimiter(windows, policy.edges, networks(settings.trusted_proxies), metrics)
    outboxes: dict[str, DurableOutbox] = {}
    for capability in capabilities:
        for job in capability.jobs:
            jobs.add(job)
    jobs.add(delivery_job(outboxes))
    return Runtime(
        settings,
        engine,
        renderer,
        metrics,
        redis,
        stores,
        database,
        services,
        capabilities,
        notifier,
        media,
        RoleBook(settings.staff_ids, settings.admin_ids),
        edges=edges,
        jobs=jobs,
        jobs_redis=jobs_redis,
        outboxes=outboxes,
        cache=cache,
        redis_health=RedisHealthMetrics(metrics.registry),
        partners=partners,
        settings_desk=settings_desk(settings, database, services, limiter, edges, partners, now),
        now=now,
    )


def redis_clients(settings: Settings) -> RedisClients | None:
    """The clients when Redis is configured: a single server's or a cluster's, both riding out
    an outage of up to ``redis_outage_seconds`` (a restart, a failover) by retrying."""
    url = settings.redis_url
    if url is None:
        return None
    target = parse_redis_url(url)
    outages = Outages()  # one server's outages, whichever client rides them out
    if target.cluster:
        clients = [cluster_client(target, settings, outages) for _ in range(2)]
        return RedisClients(url, *clients)
    # Pools make a caller wait for a free connection rather than fail. A read times out after
    # redis_command_seconds (an outage, ridden out); the BLPOPs of the waits' pool may wait
    # for a turn up to order_max_wait_seconds on top.
    command = settings.redis_command_seconds
    pools = [
        BlockingConnectionPool.from_url(
            url,
            max_connections=settings.redis_max_connections,
            timeout=settings.order_max_wait_seconds,
            socket_timeout=socket_timeout,
        )
        for socket_timeout in (command, command + settings.order_max_wait_seconds)
    ]
    outage = settings.redis_outage_seconds
    return RedisClients(
        url,
        OutageRidingRedis(connection_pool=pools[0], outage_seconds=outage, outages=outages),
        OutageRidingRedis(connection_pool=pools[1], outage_seconds=outage, outages=outages),
    )


def cluster_client(
    target: RedisTarget, settings: Settings, outages: Outages | None = None
) -> OutageRidingCluster:
    return OutageRidingCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
        username=target.username,
        password=target.password,
        ssl=target.tls,
        max_connections=settings.redis_max_connections,
        socket_timeout=settings.redis_command_seconds,
        outage_seconds=settings.redis_outage_seconds,
        outages=outages,
        **CLUSTER_HANDSHAKE,
    )


def build_understanding(
    settings: Settings, partners: PartnerClient, today: Callable[[], date]
) -> ModelUnderstanding:
    """The trained model (trained now when the data or code changed) and, when configured, the
    LLM that helps with unsure messages, called through ``partners`` as the API ``llm``."""
    store = ModelStore(settings.model_directory)
    model, _ = load_serving_or_train(store, settings.nlu_threshold)
    assist = None
    if settings.llm.base_url is not None:
        # openai (about 25 MB resident) is imported only by workers that have an LLM.
        import httpx2
        from openai import AsyncOpenAI

        from bot.partners.transport import PartnerTransport
        from intents.assist import LlmAssist

        # One retry within the assist's budget: the guest waits for it.
        api = partners.api("llm", "llm", timeout_seconds=settings.llm.timeout_seconds, retries=1)
        client = AsyncOpenAI(
            base_url=settings.llm.base_url,
            api_key=settings.llm.api_key.get_secret_value(),
            max_retries=0,  # the partner client retries
            http_client=httpx2.AsyncClient(
                transport=PartnerTransport(partners, api, safe_to_repeat=True)
            ),
        )
        prompts = Environment(loader=FileSystemLoader(PACKAGE_ROOT / "prompts"), autoescape=False)
        assist = LlmAssist(client, settings.llm.model, prompts, ASSIST_PROMPT, settings.timezone)
    mood = load_mood_or_train(settings.model_directory)
    return ModelUnderstanding(model, EntityExtractor(), today, assist, mood)


async def prepare_database(database: Database, today: date) -> None:
    """A current schema (``migrations.ensure_current``); an empty catalog gets the demo
    properties, open from ``today``, one process at a time (workers starting together seed it
    once). The demo property's synthetic booking history is made by the forecast desk on the
    first forecast question (it needs pandas, which a worker asked none never loads)."""
    await migrations.ensure_current(database)
    async with database.one_process_at_a_time("prepare_database"):
        if await seed(database, today):
            log.info("demo_catalog_seeded")


@asynccontextmanager
async def runtime_lifespan(runtime: Runtime, upkeep: bool = True) -> AsyncIterator[Runtime]:
    """Connections up, schema current; ``upkeep``: this process also runs jobs (periodic ones
    included) until the runtime closes."""
    if runtime.redis is not None:
        await runtime.redis.start()
    await prepare_database(runtime.database, today_in(runtime.settings.timezone, runtime.now))
    await runtime.settings_desk.refresh()  # the settings saved in the console, before serving
    refreshing = asyncio.create_task(
        refresh_settings(
            runtime.settings_desk, runtime.settings.console.settings_refresh_seconds, asyncio.sleep
        )
    )
    await runtime.jobs.start()
    working = (
        asyncio.create_task(
            runtime.jobs.work(runtime.settings.jobs.max_at_once, runtime.settings.shutdown_seconds)
        )
        if upkeep
        else None
    )
    try:
        yield runtime
    finally:
        refreshing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refreshing
        if working is not None:
            runtime.jobs.stop()
            await working
        await runtime.jobs.close()
        for capability in runtime.capabilities:
            if capability.close is not None:
                await capability.close()
        await runtime.partners.close()
        await runtime.database.close()
        if runtime.jobs_redis is not None:
            await runtime.jobs_redis.aclose()
        if runtime.redis is not None:
            await runtime.redis.close()


def create_app(settings: Settings, runtime: Runtime | None = None) -> web.Application:
    runtime = runtime or build_runtime(settings)
    app = web.Application(
        client_max_size=1024 * 1024, middlewares=[edge_middleware(runtime.edges, runtime.renderer)]
    )

    async def lifespan(_: web.Application) -> AsyncIterator[None]:
        async with runtime_lifespan(runtime, upkeep=settings.jobs.in_serve):
            yield

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        checks = await readiness(runtime)
        ready = all(state == "ok" for state in checks.values())
        return web.json_response(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status=200 if ready else 503,
        )

    app.cleanup_ctx.append(lifespan)
    app.router.add_get("/healthz", healthz)
    ops = OpsAccess(
        settings.ops_token.get_secret_value() if settings.ops_token else None,
        networks(settings.ops_networks),
    )
    app.router.add_get("/readyz", ops.guard(readyz))
    app.router.add_get("/metrics", ops.guard(metrics_handler(runtime)))
    widget = WebChannel(
        runtime.engine,
        runtime.renderer,
        secret=secret_key(settings),
        token_max_age=settings.widget_token_max_age_seconds,
        allowed_origins=settings.allowed_origins,
        max_text_chars=settings.max_text_chars,
        notifier=runtime.notifier,
        edges=runtime.edges,
    )
    widget.mount(app)
    runtime.notifier.register(WEB, widget.deliver, relayed=True)
    CheckoutPages(
        runtime.services.get(SandboxPayments),
        runtime.renderer,
        DedupeStore(runtime.stores.dedupe),
        secret=secret_key(settings),
        form_max_age=runtime.services.get(SandboxCheckout).max_age_seconds,
    ).mount(app)
    MediaRoutes(runtime.media.store).mount(app)
    mount_payments(app, runtime)
    RestChannel(
        runtime.engine,
        runtime.renderer,
        api_keys=[key.get_secret_value() for key in settings.api_keys],
        max_text_chars=settings.max_text_chars,
        edges=runtime.edges,
    ).mount(app)
    app[PROVIDER_CHANNELS] = mount_provider_channels(app, runtime)
    desk = runtime.services.get(AlertDesk)
    connect_alert_chats(desk, settings, app[PROVIDER_CHANNELS])
    mount_alertmanager(app, settings, desk)
    mount_console(app, runtime)
    return app


def metrics_handler(runtime: Runtime) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Prometheus' handler, after a fresh look at the Redis nodes (a failed look leaves the last
    figures and is logged: the other metrics still answer)."""
    render = make_aiohttp_handler(runtime.metrics.registry)

    async def metrics(request: web.Request) -> web.StreamResponse:
        for dependency, state in (await readiness(runtime)).items():
            runtime.metrics.dependency_up.labels(dependency).set(1 if state == "ok" else 0)
        if runtime.redis is not None:
            try:
                await runtime.redis_health.refresh(runtime.redis.client)
            except Exception:
                log.exception("redis_health_failed")
        return await render(request)

    return metrics


async def readiness(runtime: Runtime) -> dict[str, str]:
    """What /readyz checks: each dependency's "ok" or the name of its error."""
    checks: dict[str, str] = {}
    if runtime.redis is not None:
        checks["redis"] = await _probe(runtime.redis.ping())
    checks["database"] = await _probe(runtime.database.ping())
    return checks


async def _probe(check: Awaitable[object]) -> str:
    """ "ok", or the name of the error that a dependency answered with."""
    try:
        await check
    except Exception as error:
        return type(error).__name__
    return "ok"


def mount_payments(app: web.Application, runtime: Runtime) -> None:
    desk = runtime.services.get(PaymentsDesk)
    PaymentWebhooks(desk, runtime.renderer).mount(app)
    keys = [key.get_secret_value() for key in runtime.settings.payments_admin_keys]
    RefundAdmin(desk, keys, runtime.edges).mount(app)
