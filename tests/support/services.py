"""The real services the suite talks to, where they are, and which tests need them.

A test that needs one carries its marker: tests/conftest.py adds it from the fixtures the test
uses (``services_needed``) and, before the test runs, skips it when the service is not there, or
fails it under CI, where every service must be up.
"""

from __future__ import annotations

import os
import shutil
import socket
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
"""A database of its own (9 unless REDIS_URL says): every test using it empties it first."""
POSTGRESQL_URL = os.environ.get("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
"""Dropped and migrated afresh by every test that uses it."""
CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium: CI installs it; Playwright's own browser download is never used."""

MONITORING_TOOLS = ("promtool", "amtool", "prometheus", "prometheus-alertmanager")
"""From Debian's prometheus and prometheus-alertmanager packages (.ci/run installs them); the
servers run in tests/test_alerting_end_to_end.py."""

SERVICES = ("redis", "postgres", "browser", "monitoring")
"""The markers, as declared in pyproject.toml."""
BY_FIXTURE = {
    "redis": "redis",
    "redis_cluster": "redis",
    "cluster_servers": "redis",
    "redis_node": "redis",
    "postgresql": "postgres",
    "browser": "browser",
    "chromium": "browser",
    "promtool": "monitoring",
    "amtool": "monitoring",
}
"""Fixtures that are a service: a test using one, directly or through another fixture, needs it."""
BY_PARAMETER = {"redis": "redis", "cluster": "redis", "postgresql": "postgres"}
"""Backend parameters (``backend_settings``, ``database``, ``shop_database``, ...): the run of
a test on that backend needs the service; its run on the in-process one does not."""


def services_needed(item: pytest.Item) -> set[str]:
    """The services a collected test reaches through its fixtures and their parameters."""
    needed = {BY_FIXTURE[name] for name in getattr(item, "fixturenames", ()) if name in BY_FIXTURE}
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        needed.update(
            BY_PARAMETER[value]
            for value in callspec.params.values()
            if isinstance(value, str) and value in BY_PARAMETER
        )
    return needed


def listening(url: str, default_port: int) -> bool:
    """Whether something accepts connections at the URL's host and port (a refused or slow
    connection both mean no: a test would only hang on it)."""
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or default_port)
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


def shown(url: str) -> str:
    """The URL without its user and password, for a message."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


@cache
def absent(service: str) -> str | None:
    """Why ``service`` cannot be used in this run, or None when it can (asked once a run)."""
    if service == "redis" and not listening(REDIS_URL, 6379):
        return (
            f"Redis at {shown(REDIS_URL)} is not reachable: start it (or set REDIS_URL) "
            "or deselect with -m 'not redis'"
        )
    if service == "postgres" and not listening(POSTGRESQL_URL, 5432):
        return (
            f"PostgreSQL at {shown(POSTGRESQL_URL)} is not reachable: start it "
            "(or set DATABASE_URL) or deselect with -m 'not postgres'"
        )
    if service == "browser" and not CHROMIUM.exists():
        return (
            f"{CHROMIUM} not found: install Debian's chromium package "
            "or deselect with -m 'not browser'"
        )
    missing = [tool for tool in MONITORING_TOOLS if shutil.which(tool) is None]
    if service == "monitoring" and missing:
        return (
            f"{', '.join(missing)} not found: install Debian's prometheus and "
            "prometheus-alertmanager packages or deselect with -m 'not monitoring'"
        )
    return None


def in_ci() -> bool:
    """CI sets ``CI`` (.ci/run too): there a missing service is a broken run, not a skip."""
    return bool(os.environ.get("CI"))
