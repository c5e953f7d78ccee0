"""The monitoring files a team deploys (deploy/): checked with the real promtool and amtool, the
rules' own unit tests run, the 30-second budget of a critical alert held, and every metric that
a rule or dashboard reads exported by the bot."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from bot.root.app import create_app
from bot.root.settings import PACKAGE_ROOT, Settings

DEPLOY = PACKAGE_ROOT / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
ALERTMANAGER = DEPLOY / "alertmanager"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"
RUNBOOKS = PACKAGE_ROOT / "docs" / "runbooks.md"
TYPES = {"payment", "booking", "ml", "api", "channel", "system", "security"}
SEVERITIES = {"critical", "warning", "info"}
DELIVERY_SECONDS = 5
"""The bot's share of the budget: its receiver answering and posting to the staff chat."""
NOT_THE_BOTS = {"up", "ALERTS"}
"""Series Prometheus makes itself; ``alertmanager_*`` come from scraping Alertmanager."""
PROMQL_WORDS = {"and", "or", "unless", "bool", "inf", "nan", "group_left", "group_right"}


@pytest.fixture
def promtool() -> str:
    return str(shutil.which("promtool"))


@pytest.fixture
def amtool() -> str:
    return str(shutil.which("amtool"))


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def prometheus_copy(tmp_path: Path) -> Path:
    """deploy/prometheus with the scrape token file that compose writes at start."""
    copy = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS, copy)
    (copy / "secrets").mkdir()
    (copy / "secrets" / "ops-token").write_text("scrape-token")
    return copy


def rule_groups() -> Iterator[dict[str, Any]]:
    for path in sorted((PROMETHEUS / "rules").glob("*.yml")):
        yield from yaml.safe_load(path.read_text())["groups"]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]


def recorded() -> set[str]:
    return {
        rule["record"] for group in rule_groups() for rule in group["rules"] if "record" in rule
    }


def seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(int(number) * units[unit] for number, unit in re.findall(r"(\d+)([smhd])", duration))


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression reads (not its functions, labels or keywords)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\boffset\s+\w+", "", expr)
    names = set()
    for found in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if expr[found.end() :].lstrip().startswith("(") or found.group() in PROMQL_WORDS:
            continue
        names.add(found.group())
    return names


def dashboard_exprs() -> Iterator[tuple[str, str]]:
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                yield f"{path.name}: {panel['title']}", target["expr"]


def exported(exposition: str) -> set[str]:
    """Every series name the exposition declares, labelled children or not yet."""
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.MULTILINE):
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        else:
            names.add(name)
    return names


# --- the real tools ------------------------------------------------------------------------------


def test_prometheus_config_is_valid(promtool: str, tmp_path: Path) -> None:
    copy = prometheus_copy(tmp_path)
    checked = run(promtool, "check", "config", "prometheus.yml", cwd=copy)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "6 rule files found" in checked.stdout


def test_prometheus_config_check_fails_without_the_scrape_token(
    promtool: str, tmp_path: Path
) -> None:
    copy = prometheus_copy(tmp_path)
    (copy / "secrets" / "ops-token").unlink()
    checked = run(promtool, "check", "config", "prometheus.yml", cwd=copy)
    assert checked.returncode != 0
    assert "ops-token" in checked.stdout + checked.stderr


def test_rules_are_valid(promtool: str) -> None:
    files = sorted(str(path) for path in (PROMETHEUS / "rules").glob("*.yml"))
    checked = run(promtool, "check", "rules", *files, cwd=PROMETHEUS)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rules_unit_tests_pass(promtool: str) -> None:
    tested = run(promtool, "test", "rules", "tests/rules_test.yml", cwd=PROMETHEUS)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_a_rule_that_stops_firing_fails_its_unit_tests(promtool: str, tmp_path: Path) -> None:
    copy = prometheus_copy(tmp_path)
    rules = copy / "rules" / "dependencies.yml"
    rules.write_text(rules.read_text().replace('up{job="rsv360"} == 0', 'up{job="rsv360"} == 2'))
    tested = run(promtool, "test", "rules", "tests/rules_test.yml", cwd=copy)
    assert tested.returncode != 0
    assert "BotDown" in tested.stdout + tested.stderr


def test_alertmanager_config_is_valid(amtool: str) -> None:
    checked = run(amtool, "check-config", "alertmanager.yml", cwd=ALERTMANAGER)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 inhibit rules" in checked.stdout


# --- what the files promise ----------------------------------------------------------------------


def test_every_alert_rule_is_tested_firing_and_quiet() -> None:
    tests = yaml.safe_load((PROMETHEUS / "tests" / "rules_test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    for rule in alert_rules():
        name = rule["alert"]
        assert any(c["alertname"] == name and c["exp_alerts"] for c in cases), f"{name} fires"
        assert any(c["alertname"] == name and not c["exp_alerts"] for c in cases), f"{name} quiet"


def test_every_alert_rule_has_its_type_severity_words_and_runbook_section() -> None:
    sections = {
        re.sub(r"[^a-z0-9-]", "", heading.lower().replace(" ", "-"))
        for heading in re.findall(r"^## (.+)$", RUNBOOKS.read_text(), re.MULTILINE)
    }
    rules = alert_rules()
    assert len({rule["alert"] for rule in rules}) == len(rules), "alert names are unique"
    for rule in rules:
        assert rule["labels"]["type"] in TYPES, rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"], rule["alert"]
        assert annotations["description"], rule["alert"]
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert page == "docs/runbooks.md"
        assert anchor == rule["alert"].lower(), rule["alert"]
        assert anchor in sections, rule["alert"]


def test_a_critical_alert_reaches_staff_within_30_seconds_of_its_condition() -> None:
    """Worst case: the condition turns true just after a scrape, the next evaluation just
    misses that scrape, then ``for``, Alertmanager's group_wait and the bot's delivery."""
    settings = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["global"]
    routes = yaml.safe_load((ALERTMANAGER / "alertmanager.yml").read_text())["route"]["routes"]
    critical = next(r for r in routes if r["matchers"] == ['severity="critical"'])
    pending = [
        seconds(rule.get("for", "0s"))
        for rule in alert_rules()
        if rule["labels"]["severity"] == "critical"
    ]
    budget = (
        seconds(settings["scrape_interval"])
        + seconds(settings["evaluation_interval"])
        + max(pending)
        + seconds(critical["group_wait"])
        + DELIVERY_SECONDS
    )
    assert budget <= 30, budget


def test_warnings_are_inhibited_by_criticals_of_their_type() -> None:
    config = yaml.safe_load((ALERTMANAGER / "alertmanager.yml").read_text())
    assert config["inhibit_rules"] == [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["type"],
        }
    ]
    receiver = config["receivers"][0]["webhook_configs"][0]
    assert receiver["url"].endswith("/alerts/alertmanager")
    assert receiver["send_resolved"] is True


def test_dashboards_use_the_provisioned_data_source() -> None:
    provisioned = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"][0]["uid"]
    uids = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        uids.append(dashboard["uid"])
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == provisioned, (path.name, panel["title"])
            assert panel["targets"], (path.name, panel["title"])
    assert len(set(uids)) == len(uids) == 7


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        'sum by (gateway) (rate(rsv_a_total{reason=~"x|y"}[5m])) / on (gateway) group_left '
        "rec:b:rate5m > 3 * (sum(rate(rsv_c_bucket[1h] offset 5m)) or vector(0)) and up == 0"
    )
    assert metric_names(expr) == {"rsv_a_total", "rec:b:rate5m", "rsv_c_bucket", "up"}


async def test_every_metric_a_rule_or_dashboard_reads_is_exported_by_the_bot(
    aiohttp_client: Callable[..., Any], make_settings: Callable[..., Settings]
) -> None:
    client: TestClient = await aiohttp_client(create_app(make_settings()))
    response = await client.get("/metrics")
    assert response.status == 200
    available = exported(await response.text()) | recorded() | NOT_THE_BOTS
    assert "rsv_turn_seconds_bucket" in available, "histograms count with their suffixes"

    rules = [
        (rule.get("alert") or rule["record"], rule["expr"])
        for group in rule_groups()
        for rule in group["rules"]
    ]
    missing = [
        (where, name)
        for where, expr in [*rules, *dashboard_exprs()]
        for name in metric_names(expr)
        if name not in available and not name.startswith("alertmanager_")
    ]
    assert missing == []
