"""The rate-limits document as ``RatePolicy.from_document`` checks it: the repo's file loads, and
each mistake is refused naming its field (the file at start-up, a document in the console)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.documents import DocumentError, read_yaml
from bot.root.settings import PACKAGE_ROOT
from bot.steps.ratelimit import RatePolicy

RATE_LIMITS = PACKAGE_ROOT / "bot" / "ratelimits.yaml"


def test_the_repos_file_loads() -> None:
    policy = RatePolicy.from_file(RATE_LIMITS)
    assert str(policy.limit("messages", "rest")) == "100 per 1 minute"
    assert str(policy.edges["console_failure_account"]) == "5 per 15 minute"
    assert policy.intents["pay"] == "payments"


@pytest.mark.parametrize(
    ("document", "where", "reason"),
    [
        ({"edges": {"rest_address": "300/minut"}}, "edges.rest_address",
         "'300/minut' is not a rate"),
        ({"default": {"messages": "0/minute"}}, "default.messages", "is not a rate"),
        ({"default": {"messages": 100}}, "default.messages", "100 is not a rate"),
        ({"endpoints": {"rest": {"messages": "lots"}}}, "endpoints.rest.messages", "is not a rate"),
        ({"endpoints": {"rest": ["100/minute"]}}, "endpoints.rest", "must be a mapping"),
        ({"intents": {"pay": None}}, "intents.pay", "must name a category"),
        ({"partners": {"weather": "1/fortnight"}}, "partners.weather", "is not a rate"),
        ({"defaults": {}}, "defaults", "unknown field"),
        (["100/minute"], "document", "must be a mapping"),
    ],
)  # fmt: skip
def test_a_mistake_is_refused_naming_its_field(document: Any, where: str, reason: str) -> None:
    with pytest.raises(DocumentError) as refused:
        RatePolicy.from_document(document)
    assert refused.value.where == where
    assert reason in refused.value.reason


def test_a_mistake_in_the_file_names_the_file(tmp_path: Any) -> None:
    path = tmp_path / "ratelimits.yaml"
    path.write_text("default:\n  messages: 100/minuit\n", encoding="utf-8")
    with pytest.raises(DocumentError, match=r"ratelimits\.yaml: default\.messages: "):
        RatePolicy.from_file(path)


@given(st.text(max_size=300))
def test_any_text_is_a_policy_or_a_named_refusal(text: str) -> None:
    try:
        RatePolicy.from_document(read_yaml(text))
    except DocumentError as error:
        reason = str(error)
    else:
        reason = "parsed"
    assert reason
