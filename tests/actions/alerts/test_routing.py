"""The routing file: what it routes where, and start-up failures that name the line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from actions.alerts.routing import RoutingError, load_routing, parse_routing
from tests.support.alert_desk import ROUTING


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "alerts.yaml"
    path.write_text(text, encoding="utf-8")
    return load_routing(path, "pt_BR", "America/Sao_Paulo")


def test_every_matching_route_adds_its_destinations_once(tmp_path: Path) -> None:
    routing = load(tmp_path, ROUTING)
    names = [d.name for d in routing.destinations_for("payment", "critical")]  # type: ignore[attr-defined]
    assert names == ["desk", "ops"]
    assert [d.name for d in routing.destinations_for("system", "info")] == ["mail"]  # type: ignore[attr-defined]
    assert routing.fallback.target.address == "ops@pousada.example"  # type: ignore[attr-defined]


def test_quiet_hours_are_read_on_the_destinations_clock(tmp_path: Path) -> None:
    desk = load(tmp_path, ROUTING).destinations["desk"]  # type: ignore[attr-defined]
    sao_paulo = ZoneInfo("America/Sao_Paulo")
    assert desk.quiet_at(datetime(2026, 12, 2, 23, 30, tzinfo=sao_paulo))
    assert desk.quiet_at(datetime(2026, 12, 3, 6, 59, tzinfo=sao_paulo))
    assert not desk.quiet_at(datetime(2026, 12, 3, 7, 0, tzinfo=sao_paulo))
    assert not desk.quiet_at(datetime(2026, 12, 2, 21, 0, tzinfo=ZoneInfo("UTC")))  # 18:00 there


@pytest.mark.parametrize(
    ("text", "line", "why"),
    [
        ("destinations:\n  a: {to: 'slack:C1'}\nroutes:\n  - to: [a]\n  - to: [a, b]\n", 5, "'b'"),
        ("destinations:\n  a: {to: 'pager:C1'}\n", 2, "unknown destination 'pager:C1'"),
        ("destinations:\n  a: {to: 'email:nobody'}\n", 2, "not an e-mail address"),
        ("destinations:\n  a:\n    to: 'slack:C1'\n    timezone: Mars/Base\n", 4, "Mars/Base"),
        ("destinations:\n  a:\n    to: 'slack:C1'\n    quiet_hours: 22-7\n", 4, "HH:MM-HH:MM"),
        (
            "destinations:\n  a: {to: 'slack:C1'}\nroutes:\n  - types: [paymnt]\n    to: [a]\n",
            4,
            "types",
        ),
        ("destinations:\n  a: {to: 'slack:C1'}\nfallback: z\n", 3, "'z'"),
        ("destinations: [\n", 2, "not YAML"),
    ],
)
def test_a_mistake_fails_start_up_naming_the_line(
    tmp_path: Path, text: str, line: int, why: str
) -> None:
    with pytest.raises(RoutingError) as refused:
        load(tmp_path, text)
    assert f"alerts.yaml:{line}:" in str(refused.value)
    assert why in str(refused.value)


def test_a_routing_document_saved_in_the_console_is_checked_by_the_same_parser() -> None:
    routing = parse_routing(ROUTING, "pt_BR", "America/Sao_Paulo")
    assert [d.name for d in routing.destinations_for("payment", "critical")] == ["desk", "ops"]
    with pytest.raises(RoutingError) as refused:
        parse_routing("destinations:\n  a: {to: 'slack:C1'}\nfallback: z\n", "pt_BR", "UTC")
    assert str(refused.value) == "line 3: unknown destination 'z'"
    with pytest.raises(RoutingError, match="over 64 KiB"):
        parse_routing("#" * (64 * 1024 + 1), "pt_BR", "UTC")
