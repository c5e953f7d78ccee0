"""Shared fixtures: settings on a temporary data dir, a real Redis, and apps for both backends;
the support modules whose fixtures several test modules use are loaded as plugins."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from aiohttp import web
from hypothesis import HealthCheck, settings
from playwright.async_api import Browser, async_playwright
from redis.asyncio import Redis

from bot.core.observability import configure_logging
from bot.root.app import create_app
from bot.root.settings import Settings
from intents.artifacts import ModelStore, load_or_train
from intents.classifier import NluModel
from intents.entities import EntityExtractor
from intents.understanding import ModelUnderstanding
from tests.support.clock import NOW, REFERENCE_DAY
from tests.support.services import (
    CHROMIUM,
    REDIS_URL,
    SERVICES,
    absent,
    in_ci,
    services_needed,
)

pytest_plugins = [
    "tests.support.databases",
    "tests.support.delivery_line",
    "tests.support.durable_line",
    "tests.support.forecasts",
    "tests.support.guests",
    "tests.support.local_guide",
    "tests.support.partners",
    "tests.support.payments_shop",
    "tests.support.redis_servers",
    "tests.support.smtp",
    "tests.support.alert_desk",
    "tests.support.console_server",
]

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    # The app under test is a fixture built once per test and shared by its examples, on
    # purpose: the conversation must still answer after every hostile input.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""Reproducible: the same examples on every run and machine, nothing kept between runs."""
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A page a test serves through a route (a variant of the demo page) has no address of its
    # own for Chromium's Local Network Access checks, which then block its loopback WebSocket.
    "--disable-features=LocalNetworkAccessChecks",
]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test carries the marker of every service its fixtures reach, so ``-m 'not redis'``
    deselects exactly the tests that need Redis (first: ``-m`` selects in this same hook)."""
    for item in items:
        for service in sorted(services_needed(item)):
            item.add_marker(service)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture connects: a test whose service is down is skipped with the reason and
    the way to deselect it, or fails under CI, where a skip would hide a broken setup."""
    for service in SERVICES:
        reason = absent(service) if item.get_closest_marker(service) else None
        if reason is not None:
            if in_ci():
                pytest.fail(reason, pytrace=False)
            pytest.skip(reason)


@pytest.fixture(autouse=True)
def json_logs() -> None:
    """Every test starts with the server's log configuration (a CLI test may have changed it),
    so tests that read log lines see the same ones in any order."""
    configure_logging("json", "INFO")


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """A real Redis, emptied before the test (tests/support/services.py says which)."""
    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One trained NLU model for the whole run: the first engine trains it, the rest load it."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
async def base_url(make_settings: Callable[..., Settings]) -> AsyncIterator[str]:
    """The real app, with the tests' settings, on a free loopback port."""
    runner = web.AppRunner(create_app(make_settings()))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
def make_settings(tmp_path: Path, models_dir: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path,
            "models_dir": models_dir,
            "secret_key": "test-widget-secret",
        }
        unknown = set(overrides) - set(Settings.model_fields)
        assert not unknown, f"no such settings: {sorted(unknown)} (a section takes a dict)"
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture(params=["memory", "redis"])
async def backend_settings(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> AsyncIterator[Callable[..., Settings]]:
    """Settings factory for the in-process stores and for Redis: tests using it run twice."""
    if request.param == "redis":
        client = Redis.from_url(REDIS_URL)
        await client.flushdb()
        await client.aclose()

        def with_redis(**overrides: Any) -> Settings:
            return make_settings(redis_url=REDIS_URL, **overrides)

        yield with_redis
    else:
        yield make_settings


@pytest.fixture(autouse=True)
def frozen_time() -> Iterator[time_machine.Coordinates]:
    """No test reads the wall clock: "now" starts at ``NOW`` and runs on from there (timeouts
    and hold expiry still pass), whatever day the suite runs on. A test that needs another day
    moves it: ``frozen_time.move_to(...)``."""
    with time_machine.travel(NOW, tick=True) as coordinates:
        yield coordinates


@pytest.fixture(scope="session")
def intent_model(models_dir: Path) -> NluModel:
    """The trained intent model, shared by the whole run."""
    model, _ = load_or_train(ModelStore(models_dir), threshold=Settings().nlu_threshold)
    return model


@pytest.fixture(scope="session")
def understanding(intent_model: NluModel) -> ModelUnderstanding:
    """The trained model, reading dates relative to ``REFERENCE_DAY``."""
    return ModelUnderstanding(intent_model, EntityExtractor(), lambda: REFERENCE_DAY)


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium (its absence skips or fails the test before this runs: the hooks)."""
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """Headless Chromium for the widget and checkout tests."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()
