"""The service markers do what README promises: ``-m "not redis and not postgres and not
browser and not monitoring"`` (no service marker) leaves no test that reaches a service through
its fixtures, and a test whose service is down is skipped with the way to deselect it, or failed
under CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from bot.root.settings import PACKAGE_ROOT

SERVICES = {"redis", "postgres", "browser", "monitoring"}
COLLECT = """
import json, sys
import pytest

class Report:
    def pytest_collection_finish(self, session):
        items = []
        for item in session.items:
            callspec = getattr(item, "callspec", None)
            params = callspec.params.values() if callspec else ()
            items.append({
                "id": item.nodeid,
                "fixtures": list(item.fixturenames),
                "params": [value for value in params if isinstance(value, str)],
                "markers": sorted({mark.name for mark in item.iter_markers()}),
            })
        with open(sys.argv[1], "w") as out:
            json.dump(items, out)

sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[2:]],
                     plugins=[Report()]))
"""
"""Collects in a process of its own: the items as pytest sees them, with their markers."""
SERVICE_FIXTURES = {"redis", "postgresql", "browser", "chromium", "promtool", "amtool"}
SERVICE_PARAMETERS = {"redis", "postgresql"}
Item = dict[str, Any]


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> list[Item]:
    """The whole suite's items, collected once for this module's tests."""
    report = tmp_path_factory.mktemp("collected") / "items.json"
    command = [sys.executable, "-c", COLLECT, str(report), "tests"]
    subprocess.run(command, cwd=PACKAGE_ROOT, check=True, capture_output=True)
    items: list[Item] = json.loads(report.read_text())
    return items


def reaches_a_service(item: Item) -> bool:
    fixtures, params = set(item["fixtures"]), set(item["params"])
    return bool(SERVICE_FIXTURES & fixtures or SERVICE_PARAMETERS & params)


def test_the_fast_subset_reaches_no_service(suite: list[Item]) -> None:
    """What ``-m FAST`` keeps: the tests without any service marker."""
    fast = {item["id"] for item in suite if not SERVICES & set(item["markers"])}

    reaching = [item["id"] for item in suite if reaches_a_service(item)]
    assert reaching, "no test reaches a service: the check would prove nothing"
    assert [test for test in reaching if test in fast] == []
    assert len(fast) > len(suite) / 2, "most tests need no service"


def test_every_test_using_a_service_fixture_carries_its_marker(suite: list[Item]) -> None:
    needs = {
        "redis": "redis",
        "postgresql": "postgres",
        "browser": "browser",
        "promtool": "monitoring",
        "amtool": "monitoring",
    }

    unmarked = [
        (item["id"], marker)
        for item in suite
        for fixture, marker in needs.items()
        if fixture in item["fixtures"] and marker not in item["markers"]
    ]

    assert unmarked == []


def run_stores_on_redis(**environment: str) -> subprocess.CompletedProcess[str]:
    """The Redis runs of tests/bot/stores/test_stores.py, with a Redis that is not there."""
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update(REDIS_URL="redis://127.0.0.1:1/0", **environment)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-rs",
        "-p",
        "no:cacheprovider",
        "tests/bot/stores/test_stores.py",
        "-k",
        "redis",
    ]
    return subprocess.run(command, cwd=PACKAGE_ROOT, env=env, capture_output=True, text=True)


def test_a_test_whose_service_is_down_is_skipped_with_the_way_out_or_failed_in_ci() -> None:
    outside = run_stores_on_redis()
    assert outside.returncode == 0, outside.stdout
    assert "Redis at redis://127.0.0.1:1/0 is not reachable" in outside.stdout
    assert "-m 'not redis'" in outside.stdout
    assert " passed" not in outside.stdout.splitlines()[-1]

    in_ci = run_stores_on_redis(CI="1")
    assert in_ci.returncode == 1, in_ci.stdout
    assert " error" in in_ci.stdout.splitlines()[-1]  # failed in setup, before any fixture
    assert " skipped" not in in_ci.stdout.splitlines()[-1]
