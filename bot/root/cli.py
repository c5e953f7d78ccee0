"""``rsv360``: serve every channel, chat in a terminal, and train or check the NLU model."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from bot.core.clock import system_now, today_in
from bot.root.settings import PACKAGE_ROOT, Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rsv360", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run every enabled channel in one web server")
    serve.add_argument("--host", help="address to listen on (RSV_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (RSV_PORT)")
    serve.add_argument(
        "--workers", type=int, help="server processes on the port (RSV_WORKERS; needs Redis)"
    )
    serve.add_argument("--in-pool", action="store_true", help=argparse.SUPPRESS)
    commands.add_parser(
        "worker", help="run the job queue's jobs (deliveries, upkeep) until SIGTERM; needs Redis"
    )
    chat = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--locale", help="pt-BR, en or es (default: detected)")
    chat.add_argument("--user", default="terminal-user", help="user id of this conversation")
    nlu = commands.add_parser("nlu", help="train, try and evaluate the intent model")
    nlu_commands = nlu.add_subparsers(dest="nlu_command", required=True)
    nlu_commands.add_parser("train", help="cross-validate, train and store the model")
    parse = nlu_commands.add_parser("parse", help="print how one message is understood")
    parse.add_argument("text")
    parse.add_argument("--locale", help="the conversation's locale (default: detected)")
    parse.add_argument("--today", type=date.fromisoformat, help="reference date YYYY-MM-DD")
    evaluate = nlu_commands.add_parser("evaluate", help="score a labelled CSV")
    evaluate.add_argument("file", type=Path, help="CSV with columns text,locale,intent,entities")
    evaluate.add_argument("--today", type=date.fromisoformat, help="reference date YYYY-MM-DD")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    database = commands.add_parser("db", help="database schema and demo data")
    database_commands = database.add_subparsers(dest="db_command", required=True)
    database_commands.add_parser("upgrade", help="migrate the schema to the newest revision")
    database_commands.add_parser("seed", help="add the demo catalog to an empty database")
    _forecast_commands(commands)
    payments = commands.add_parser("payments", help="payments and the ledger")
    payments_commands = payments.add_subparsers(dest="payments_command", required=True)
    payments_commands.add_parser(
        "check", help="verify the money's invariants per reservation; exit 1 naming violations"
    )
    payments_commands.add_parser(
        "reconcile", help="compare the ledger with the gateways; exit 1 on differences"
    )
    cache = commands.add_parser("cache", help="the shared cache")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True)
    cache_commands.add_parser(
        "stats", help="hit ratio per kind (every worker's), keys and memory per Redis node (JSON)"
    )
    telegram = commands.add_parser("telegram", help="the Telegram bot's registration")
    telegram_commands = telegram.add_subparsers(dest="telegram_command", required=True)
    telegram_commands.add_parser(
        "set-webhook", help="point Telegram at RSV_PUBLIC_URL/telegram/webhook with the secret"
    )
    whatsapp = commands.add_parser("whatsapp", help="the WhatsApp channel")
    whatsapp_commands = whatsapp.add_subparsers(dest="whatsapp_command", required=True)
    link = whatsapp_commands.add_parser(
        "link", help="print the wa.me link that opens a booking at PROPERTY"
    )
    link.add_argument("property", help="the property's slug (pousada-do-mar)")
    link.add_argument(
        "--locale", help="language of the prefilled message (default: RSV_DEFAULT_LOCALE)"
    )
    alerts = commands.add_parser("alerts", help="staff alerts: a test delivery, the history")
    alerts_commands = alerts.add_subparsers(dest="alerts_command", required=True)
    test = alerts_commands.add_parser("test", help="send a test alert to its route; print each")
    test.add_argument("type", nargs="?", default="system", help="payment, booking, ml, api, ...")
    test.add_argument("--severity", default="warning", help="critical, warning or info")
    alerts_commands.add_parser("list", help="the latest alerts and where each was delivered")
    experiments = commands.add_parser("experiments", help="A/B experiments and their figures")
    experiments_commands = experiments.add_subparsers(dest="experiments_command", required=True)
    report = experiments_commands.add_parser("report", help="each variant's Bayesian figures")
    report.add_argument("name", nargs="?", help="one experiment (default: every one)")
    report.add_argument("--json", action="store_true", help="print JSON")
    _admin_commands(commands)
    arguments = parser.parse_args(argv)

    overrides = {
        name: getattr(arguments, name)
        for name in ("host", "port", "workers")
        if getattr(arguments, name, None) is not None
    }
    settings = Settings(**overrides)
    from bot.core.observability import configure_logging

    if arguments.command == "serve":
        configure_logging(settings.log_format, settings.log_level)
        sys.exit(_serve(settings, in_pool=arguments.in_pool))
    if arguments.command == "worker":
        configure_logging(settings.log_format, settings.log_level)
        sys.exit(asyncio.run(_work(settings)))
    configure_logging("console", "WARNING")
    if arguments.command == "chat":
        asyncio.run(_chat(settings, arguments.user, arguments.locale))
    elif arguments.command == "db":
        print(asyncio.run(_database(settings, arguments.db_command)))
    elif arguments.command == "ml":
        sys.exit(asyncio.run(_ml(settings, arguments)))
    elif arguments.command == "payments" and arguments.payments_command == "check":
        sys.exit(asyncio.run(_check(settings)))
    elif arguments.command == "payments":
        sys.exit(asyncio.run(_reconcile(settings)))
    elif arguments.command == "cache":
        if settings.redis_url is None:
            sys.exit(
                "rsv360 cache stats: set RSV_REDIS_URL (without it each server keeps its cache "
                "in its own process: read its /metrics)"
            )
        print(json.dumps(asyncio.run(_cache_stats(settings)), indent=2))
    elif arguments.command == "telegram":
        if settings.telegram.token is None:
            sys.exit("rsv360 telegram: set RSV_TELEGRAM_TOKEN first")
        from channels.telegram.registration import RegistrationFailed

        try:
            print(asyncio.run(set_telegram_webhook(settings)))
        except RegistrationFailed as error:
            sys.exit(f"rsv360 telegram: {error}")
    elif arguments.command == "alerts":
        from bot.root.alerts import alerts_command

        kind, level = getattr(arguments, "type", "system"), getattr(arguments, "severity", "info")
        sys.exit(asyncio.run(alerts_command(settings, arguments.alerts_command, kind, level)))
    elif arguments.command == "experiments":
        from bot.root.experiments import experiments_report

        sys.exit(asyncio.run(experiments_report(settings, arguments.name, arguments.json)))
    elif arguments.command == "admin":
        sys.exit(asyncio.run(_admin(settings, arguments)))
    elif arguments.command == "whatsapp":
        try:
            print(whatsapp_link(settings, arguments.property, arguments.locale))
        except LinkImpossible as error:
            sys.exit(f"rsv360 whatsapp: {error}")
    elif arguments.nlu_command == "train":
        _train(settings)
    elif arguments.nlu_command == "parse":
        print(json.dumps(asyncio.run(_parse(settings, arguments)), ensure_ascii=False))
    else:
        sys.exit(asyncio.run(_evaluate(settings, arguments)))


def _serve(settings: Settings, in_pool: bool) -> int | str:
    if settings.workers > 1 and not in_pool:
        if settings.redis_url is None:
            return (
                f"rsv360 serve: {settings.workers} workers need RSV_REDIS_URL: without it "
                "sessions, limits and conversation order live in one process and cannot be "
                "shared"
            )
        if settings.database_url is None:
            return (
                f"rsv360 serve: {settings.workers} workers need RSV_DATABASE_URL "
                "(PostgreSQL): the embedded SQLite file is for one process"
            )
        from bot.root.workers import supervise

        print(f"Onion RSV 360: {settings.base_url}/", file=sys.stderr, flush=True)
        return supervise(settings.workers, settings.host, settings.port)
    from aiohttp import web

    from bot.root.app import build_runtime, create_app
    from bot.root.heap import settle

    runtime = build_runtime(settings)
    app = create_app(settings, runtime)

    async def settled(_: web.Application) -> None:  # after the runtime's own start-up
        settle(runtime.metrics.registry)

    app.on_startup.append(settled)
    if not in_pool:
        print(f"Onion RSV 360 demo page: {settings.base_url}/", file=sys.stderr, flush=True)
    import structlog
    import uvloop

    def serving(_: str) -> None:  # aiohttp's word once every socket listens
        structlog.get_logger("rsv360.serve").info("serving", pid=os.getpid(), port=settings.port)

    web.run_app(
        app,
        loop=uvloop.new_event_loop(),
        host=settings.host,
        port=settings.port,
        reuse_port=in_pool,
        shutdown_timeout=settings.shutdown_seconds,
        print=serving,
    )
    return 0


async def _work(settings: Settings) -> int | str:
    import signal

    from actions.alerts.desk import AlertDesk
    from bot.root.alerts import connect_alert_chats
    from bot.root.app import build_runtime, runtime_lifespan
    from bot.root.jobs import JobsNeedOneNode
    from bot.root.providers import close_provider_channels, open_for_sending, provider_channels

    # The job worker is where the forecast stack belongs: no child process for it.
    forecast = settings.forecast.model_copy(update={"child_process": False})
    try:
        runtime = build_runtime(settings.model_copy(update={"forecast": forecast}))
    except JobsNeedOneNode as error:
        return f"rsv360 worker: {error}"
    if runtime.jobs_redis is None:
        return (
            "rsv360 worker: set RSV_REDIS_URL (or RSV_JOBS_REDIS_URL); without Redis, "
            "`rsv360 serve` runs the jobs itself"
        )
    channels = provider_channels(runtime)
    connect_alert_chats(runtime.services.get(AlertDesk), settings, channels)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with runtime_lifespan(runtime, upkeep=True):
            await open_for_sending(channels)
            print("rsv360 worker: running jobs", file=sys.stderr, flush=True)
            await stop.wait()
    finally:
        await close_provider_channels(channels)
    return 0


async def _database(settings: Settings, command: str) -> str:
    from actions.booking.catalog import seed
    from bot.stores import migrations
    from bot.stores.database import Database, sqlite_url

    database = Database(settings.database_url or sqlite_url(settings.data_dir))
    try:
        if command == "upgrade":
            await migrations.upgrade(database)
            return "schema is at the newest revision"
        seeded = await seed(database, system_now().date())
        return "demo catalog added" if seeded else "the catalog is not empty: nothing added"
    finally:
        await database.close()


async def _reconcile(settings: Settings) -> int:
    from tqdm import tqdm

    from actions.payments.reconcile import keep, reconcile
    from bot.root.payments import payments_books

    async with payments_books(settings) as runtime:
        differences = await reconcile(
            runtime.database,
            runtime.payments,
            system_now(),
            progress=lambda rows: tqdm(rows, desc="payments", unit="payment"),
        )
        await keep(runtime.database, differences, system_now())
    for found in differences:
        print(
            f"{found.reservation_code}  {found.gateway:<11} {found.reference}  "
            f"paid {found.ledger_paid}/{found.gateway_paid}  "
            f"refunded {found.ledger_refunded}/{found.gateway_refunded}  {found.note}"
        )
    print(f"{len(differences)} difference(s) (amounts in minor units: ledger/gateway)")
    return 1 if differences else 0


async def _cache_stats(settings: Settings) -> dict[str, object]:
    from dataclasses import asdict

    from actions.forecasts.cache import forecast_kind
    from bot.root.app import redis_clients
    from bot.stores.cache import EVENTS, stats_key
    from bot.stores.health import nodes
    from bot.stores.redis import RedisCounterStore

    redis = redis_clients(settings)
    assert redis is not None
    try:
        kinds: dict[str, object] = {}
        for kind in (forecast_kind().name,):
            counts = await RedisCounterStore(redis.client).read(stats_key(kind))
            lookups = counts["hit"] + counts["miss"]
            kinds[kind] = {
                **{event: counts[event] for event in EVENTS},
                "hit_ratio": counts["hit"] / lookups if lookups else None,
            }
        found = [asdict(node) for node in await nodes(redis.client)]
    finally:
        await redis.close()
    return {"kinds": kinds, "nodes": found}


async def _check(settings: Settings) -> int:
    from actions.payments.invariants import check as check_invariants
    from actions.payments.invariants import count_reservations
    from bot.root.payments import payments_books

    async with payments_books(settings) as runtime:
        violations = await check_invariants(
            runtime.database, runtime.payments.gateways, runtime.metrics.loops
        )
        reservations = await count_reservations(runtime.database)
    for violation in violations:
        print(violation)
    if violations:
        print(f"{len(violations)} violation(s) of the payments invariants")
        return 1
    print(f"payments invariants hold for {reservations} reservation(s)")
    return 0


async def set_telegram_webhook(settings: Settings) -> str:
    """Register the webhook (with its secret and the update types the bot handles)."""
    from bot.root.secret import webhook_secret
    from channels.telegram.registration import CHANNEL, WEBHOOK_PATH, set_webhook

    assert settings.telegram.token is not None
    url = f"{settings.base_url}{WEBHOOK_PATH}"
    secret = webhook_secret(settings, CHANNEL)
    token = settings.telegram.token.get_secret_value()
    await set_webhook(token, url, secret, settings.telegram.api_url)
    return f"Telegram will post updates to {url}"


class LinkImpossible(ValueError):
    """The business number is not set or the property is unknown."""


def whatsapp_link(settings: Settings, property_slug: str, locale: str | None = None) -> str:
    """``https://wa.me/<number>?text=…``: the prefilled message names the property, and the
    channel opens its booking when the guest sends it (like Telegram's ``/start <slug>``)."""
    from actions.faq.knowledge import load_knowledge
    from bot.core.render import Renderer
    from bot.core.types import Outcome
    from channels.whatsapp.registration import deep_link_url, property_mark

    if settings.whatsapp.number is None:
        raise LinkImpossible("set RSV_WHATSAPP_NUMBER first")
    known = load_knowledge(settings.knowledge_dir)
    if property_slug not in known:
        raise LinkImpossible(f"no property {property_slug!r} (known: {', '.join(sorted(known))})")
    renderer = Renderer(PACKAGE_ROOT / "prompts", PACKAGE_ROOT / "locales", settings.default_locale)
    values = {"property": known[property_slug].name, "mark": property_mark(property_slug)}
    prefilled = renderer.render(
        Outcome("channels/whatsapp_deep_link", values), renderer.locale_for(locale), "plain"
    ).text
    return deep_link_url(settings.whatsapp.number, prefilled)


async def _chat(settings: Settings, user: str, locale: str | None) -> None:
    from bot.root.app import build_runtime, runtime_lifespan
    from channels.terminal import TerminalChannel

    async with runtime_lifespan(build_runtime(settings)) as runtime:
        await TerminalChannel(runtime.engine, user_id=user, locale=locale).run()


def _train(settings: Settings) -> None:
    from tqdm import tqdm

    from intents import artifacts, classifier
    from intents.dataset import load_examples

    examples = load_examples()
    print(f"{len(examples)} examples")
    validation = classifier.cross_validate(
        examples,
        settings.nlu_threshold,
        progress=lambda folds: tqdm(folds, desc="cross-validation", unit="fold"),
    )
    print(f"cross-validated accuracy {validation.accuracy:.1%} ({validation.folds} folds)")
    for locale, accuracy in validation.per_locale.items():
        print(f"  {locale:<6} {accuracy:.1%}")
    started = time.perf_counter()
    with tqdm(total=1, desc="final model", unit="model") as bar:
        model = classifier.train(examples, settings.nlu_threshold)
        bar.update()
    print(f"trained in {time.perf_counter() - started:.1f} s")
    key = artifacts.artifact_key()
    path = artifacts.ModelStore(settings.model_directory).save(
        key,
        model,
        artifacts.training_metadata(
            key,
            len(examples),
            cross_validation={"accuracy": validation.accuracy, "per_locale": validation.per_locale},
        ),
    )
    print(f"stored {path}")
    # The mood model too, so that no worker trains (and keeps scikit-learn) at start-up.
    from intents import mood

    mood.load_or_train(settings.model_directory)
    print(f"mood model in {settings.model_directory / 'mood'}")


def _today(settings: Settings, arguments: argparse.Namespace) -> Callable[[], date]:
    """The date relative dates are read against: ``--today``, or the property's today."""
    fixed: date | None = arguments.today
    return lambda: fixed or today_in(settings.timezone, system_now)


async def _parse(settings: Settings, arguments: argparse.Namespace) -> dict[str, object]:
    from prometheus_client import CollectorRegistry

    from bot.core.locales import negotiate
    from bot.root.app import build_understanding
    from bot.root.partners import standalone_partners

    partners = standalone_partners(settings, CollectorRegistry())
    try:
        understanding = build_understanding(settings, partners, _today(settings, arguments))
        locale = negotiate(arguments.locale, settings.default_locale)
        parse = await understanding.parse(arguments.text, locale)
    finally:
        await partners.close()
    return {
        "intent": {"name": parse.intent, "confidence": parse.confidence},
        "locale": parse.locale.replace("_", "-"),
        "entities": dict(parse.entities),
    }


async def _evaluate(settings: Settings, arguments: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry
    from tqdm import tqdm

    from bot.root.app import build_understanding
    from bot.root.partners import standalone_partners
    from intents.evaluation import MalformedFile, Report, format_report, read_cases

    try:
        cases = read_cases(arguments.file)
    except (MalformedFile, OSError) as error:
        print(f"rsv360 nlu evaluate: {error}", file=sys.stderr)
        return 2
    partners = standalone_partners(settings, CollectorRegistry())
    try:
        understanding = build_understanding(settings, partners, _today(settings, arguments))
        report = Report()
        for case in tqdm(cases, desc="evaluating", unit="msg", disable=arguments.json):
            report.add(case, await understanding.parse(case.text, case.locale))
    finally:
        await partners.close()
    summary = report.as_dict()
    print(
        json.dumps(summary, ensure_ascii=False, indent=2)
        if arguments.json
        else format_report(summary)
    )
    return 0


def _forecast_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ml = commands.add_parser("ml", help="forecast models: history, training and versions")
    ml_commands = ml.add_subparsers(dest="ml_command", required=True)
    load = ml_commands.add_parser("import", help="import Hotel Booking Demand rows (csv or zip)")
    load.add_argument("path", type=Path)
    load.add_argument("--property", help="property slug for every row (default: the hotel column)")
    train = ml_commands.add_parser("train", help="train, measure and store new model versions")
    train.add_argument("model", nargs="?", help="cancellation or demand (default: both)")
    ml_commands.add_parser("list", help="every stored version; * marks the promoted ones")
    promote = ml_commands.add_parser("promote", help="serve this version")
    promote.add_argument("version")
    rollback = ml_commands.add_parser("rollback", help="serve the previously promoted version")
    rollback.add_argument("model", nargs="?", help="cancellation or demand")


async def _ml(settings: Settings, arguments: argparse.Namespace) -> int:
    from actions.forecasts import commands as forecast_commands
    from actions.forecasts.registry import Registry
    from bot.root.app import prepare_database
    from bot.stores.database import Database, sqlite_url

    model = getattr(arguments, "model", None)
    if model is not None and model not in forecast_commands.MODELS:
        print(f"rsv360 ml: no model {model!r} ({' or '.join(forecast_commands.MODELS)})")
        return 2
    registry = Registry(settings.forecast_model_directory)
    if arguments.ml_command == "list":
        return forecast_commands.list_versions(registry)
    if arguments.ml_command == "promote":
        return forecast_commands.promote(registry, arguments.version)
    if arguments.ml_command == "rollback":
        return forecast_commands.rollback(registry, arguments.model)
    database = Database(settings.database_url or sqlite_url(settings.data_dir))
    try:
        await prepare_database(database, system_now().date())
        if arguments.ml_command == "import":
            return await forecast_commands.import_history(
                database, arguments.path, arguments.property
            )
        names = [arguments.model] if arguments.model else list(forecast_commands.MODELS)
        return await forecast_commands.train(
            database, registry, names, settings.default_property, system_now().date()
        )
    finally:
        await database.close()


def _admin_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin = commands.add_parser("admin", help="staff accounts of the console (docs/console.md)")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    add = admin_commands.add_parser("add-user", help="add an account; print its one-time password")
    add.add_argument("email")
    add.add_argument("--role", choices=("staff", "admin"), default="staff")
    admin_commands.add_parser("list", help="the accounts, their roles and chat identities")
    disable = admin_commands.add_parser("disable", help="disable an account (signed out at once)")
    disable.add_argument("email")
    reset = admin_commands.add_parser(
        "reset-password", help="a new one-time password (enables the account again)"
    )
    reset.add_argument("email")
    link = admin_commands.add_parser(
        "link", help="link a chat identity (slack:U012AB) to an account"
    )
    link.add_argument("email")
    link.add_argument("identity")
    unlink = admin_commands.add_parser("unlink", help="unlink a chat identity")
    unlink.add_argument("identity")


async def _admin(settings: Settings, arguments: argparse.Namespace) -> int | str:
    from actions.staff.accounts import (
        AccountExists,
        InvalidIdentity,
        StaffDirectory,
        UnknownAccount,
    )
    from bot.stores import migrations
    from bot.stores.database import Database, sqlite_url

    database = Database(settings.database_url or sqlite_url(settings.data_dir))
    directory = StaffDirectory(database, system_now)
    command, actor = arguments.admin_command, "cli"
    try:
        await migrations.ensure_current(database)
        if command == "add-user":
            password = await directory.add(arguments.email, arguments.role, actor)
            email = arguments.email.strip().lower()
            print(f"{email} ({arguments.role}) one-time password: {password}")
        elif command == "list":
            for account in await directory.accounts():
                state = "disabled" if account.disabled else "active"
                print(f"{account.email}  {account.role}  {state}  {' '.join(account.identities)}")
        elif command == "disable":
            await directory.disable(arguments.email, actor)
            print(f"{arguments.email} is disabled and signed out")
        elif command == "reset-password":
            password = await directory.reset_password(arguments.email, actor)
            print(f"{arguments.email} one-time password: {password}")
        elif command == "link":
            await directory.link(arguments.email, arguments.identity, actor)
            print(f"{arguments.identity} speaks for {arguments.email}")
        elif not await directory.unlink(arguments.identity, actor):
            return f"rsv360 admin: {arguments.identity} is not linked"
    except AccountExists as error:
        return f"rsv360 admin: an account {error} already exists"
    except UnknownAccount as error:
        return f"rsv360 admin: no account {error}"
    except InvalidIdentity as error:
        return f"rsv360 admin: {error} is not a chat identity (slack:U012AB, telegram:123456)"
    except RuntimeError as error:
        return f"rsv360 admin: {error}"
    finally:
        await database.close()
    return 0
