"""A property's price limits as ``parse_rules`` checks them (the repo's file loads; a floor
above its ceiling, a day that is not MM-DD, a price that is not a positive number are refused
naming their field), and the source the answers read, which a saved setting replaces."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from actions.forecasts.price_rules import PriceRulesSource, load_rules, parse_rules
from bot.core.documents import DocumentError
from bot.root.settings import PACKAGE_ROOT

PRICING = PACKAGE_ROOT / "actions" / "forecasts" / "pricing"


def test_the_repos_file_loads() -> None:
    rules = load_rules(PRICING, "pousada-do-mar")
    assert rules is not None
    assert rules.max_change == pytest.approx(0.35)
    summer = rules.season(date(2027, 1, 10))
    assert summer is not None
    assert summer.floor["standard"] == 340


@pytest.mark.parametrize(
    ("document", "where", "reason"),
    [
        ({"seasons": [{"name": "a"}, {"name": "b", "floor": {"standard": 500},
                                       "ceiling": {"standard": 400}}]},
         "seasons[1].floor.standard", "above the ceiling"),
        ({"seasons": [{"name": "a", "floor": {"standard": 0}}]}, "seasons[0].floor.standard",
         "must be positive"),
        ({"seasons": [{"name": "a", "ceiling": {"standard": "lots"}}]},
         "seasons[0].ceiling.standard", "is not a number"),
        ({"seasons": [{"name": "a", "from": "13-01", "to": "12-31"}]}, "seasons[0].from",
         "MM-DD"),
        ({"seasons": [{"name": "a", "from": "01-01"}]}, "seasons[0]", "needs both"),
        ({"seasons": [{"floor": {}}]}, "seasons[0].name", "non-empty"),
        ({"sensitivity": -1}, "sensitivity", "must be positive"),
        ({"max_change_percent": 150}, "max_change_percent", "at most 100"),
        ({"max_change_percent": float("nan")}, "max_change_percent", "is not a number"),
        ({"season": []}, "season", "unknown field"),
    ],
)  # fmt: skip
def test_a_mistake_is_refused_naming_its_field(document: Any, where: str, reason: str) -> None:
    with pytest.raises(DocumentError) as refused:
        parse_rules(document)
    assert refused.value.where == where
    assert reason in refused.value.reason


def test_the_source_serves_a_replacement_until_it_goes_back_to_the_file() -> None:
    source = PriceRulesSource(PRICING)
    from_file = source.rules("pousada-do-mar")
    replaced = parse_rules({"sensitivity": 0.1, "seasons": []})
    fingerprint = source.fingerprint("pousada-do-mar")
    source.replace("pousada-do-mar", replaced)
    assert source.rules("pousada-do-mar") is replaced
    assert source.fingerprint("pousada-do-mar") != fingerprint  # cached answers not reused
    source.replace("pousada-do-mar", None)
    assert source.rules("pousada-do-mar") == from_file
    assert source.fingerprint("pousada-do-mar") == fingerprint
    assert source.rules("nowhere") is None
