"""The experiment file: what it accepts, and every mistake named by experiment and field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.core.experiment_file import (
    ExperimentFileError,
    button_labels,
    load_experiments,
    parse_experiments,
)
from bot.root.settings import PACKAGE_ROOT

PROMPTS = PACKAGE_ROOT / "prompts"
LABELS = button_labels(PROMPTS)


def document(**fields: Any) -> dict[str, Any]:
    declaration: dict[str, Any] = {
        "template": "smalltalk/greet",
        "goals": ["replied"],
        "variants": {"control": 50, "warm": 50},
    }
    declaration.update(fields)
    return {"experiments": {"tone": declaration}}


def parse(raw: Any) -> list[Any]:
    return parse_experiments(raw, PROMPTS, LABELS)


def test_the_shipped_file_parses() -> None:
    experiments = load_experiments(PACKAGE_ROOT / "prompts" / "experiments.yaml")
    assert [experiment.name for experiment in experiments] == ["greeting_tone"]
    assert experiments[0].allocation == "thompson"


def test_a_full_declaration_parses() -> None:
    [experiment] = parse(
        document(
            allocation="thompson",
            goals=["booking_held", "revenue"],
            stopping={"probability": 0.9, "min_users": 100, "max_loss": 0.01, "checks": 2},
            variants={
                "control": 1,
                "warm": {"weight": 2.5},
                "short_menu": {
                    "weight": 1,
                    "own_template": False,
                    "buttons": ["menu_book", "menu_human"],
                },
            },
        )
    )
    assert experiment.weights == {"control": 1, "warm": 2.5, "short_menu": 1}
    assert experiment.variants["short_menu"].buttons == ("menu_book", "menu_human")
    assert experiment.stopping.min_users == 100
    assert experiment.key == f"tone@{experiment.version}"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"template": "smalltalk/nope"}, "template", "no template"),
        ({"variants": {"control": 1, "cold": 1}}, "variants.cold", "no template"),
        ({"variants": {"control": 0, "warm": 1}}, "variants.control.weight", "greater than 0"),
        ({"variants": {"control": -3, "warm": 1}}, "variants.control.weight", "greater than 0"),
        ({"variants": {"control": float("nan"), "warm": 1}}, "variants.control.weight", ""),
        ({"variants": {"control": "50", "warm": 1}}, "variants.control", ""),
        ({"variants": {"control": True, "warm": 1}}, "variants.control", ""),
        ({"variants": {"control": 1, "warm": {"weight": 0}}}, "variants.warm.weight", ""),
        ({"goals": ["bookings"]}, "goals", "unknown goal 'bookings'"),
        ({"winner": "hot"}, "winner", "'hot' is no variant"),
        ({"variants": {"warm": 1}}, "variants", "control"),
        ({"allocation": "random"}, "allocation", ""),
        ({"colour": "red"}, "colour", ""),
        (
            {"variants": {"control": 1, "warm": {"weight": 1, "buttons": ["menu_nope"]}}},
            "variants.warm.buttons",
            "unknown label 'menu_nope'",
        ),
    ],
)
def test_a_mistake_is_named_by_experiment_and_field(
    change: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ExperimentFileError) as raised:
        parse(document(**change))
    message = str(raised.value)
    assert "experiment 'tone'" in message
    assert f"field '{field}'" in message
    assert words in message


def test_two_experiments_on_one_template_are_refused() -> None:
    raw = document()
    raw["experiments"]["again"] = copy.deepcopy(raw["experiments"]["tone"])
    with pytest.raises(ExperimentFileError, match="experiment 'again', field 'template'"):
        parse(raw)


def test_the_file_path_is_named_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "experiments.yaml"
    path.write_text(yaml.safe_dump(document(winner="hot")), encoding="utf-8")
    with pytest.raises(ExperimentFileError, match=f"{path}: experiment 'tone', field 'winner'"):
        load_experiments(path, PROMPTS)


def test_changing_the_variants_starts_a_new_version_but_weights_do_not() -> None:
    [first] = parse(document())
    [reweighted] = parse(document(variants={"control": 10, "warm": 90}, goals=["booking_held"]))
    [changed] = parse(
        document(variants={"control": 50, "warm": {"weight": 50, "buttons": ["menu_book"]}})
    )
    assert first.version == reweighted.version
    assert changed.version != first.version
    assert changed.key != first.key


weights = st.one_of(
    st.integers(-5, 100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "template": st.sampled_from(["smalltalk/greet", "smalltalk/nope", "", "../etc", 3]),
        "goals": st.lists(st.sampled_from(["replied", "revenue", "nope", ""]), max_size=3),
        "allocation": st.sampled_from(["fixed", "thompson", "other"]),
        "winner": st.sampled_from(["control", "warm", "hot", None]),
        "min_share": st.floats(-1, 1),
        "variants": st.dictionaries(
            st.sampled_from(["control", "warm", "Bad Name", "x" * 70]), weights, max_size=3
        ),
    },
)
documents = st.one_of(
    st.builds(lambda body: {"experiments": {"tone": body}}, fields),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    ),
)


@given(documents)
def test_any_document_parses_or_fails_with_a_named_error(raw: Any) -> None:
    try:
        experiments = parse(raw)
    except ExperimentFileError as error:
        message = str(error)
        assert message.startswith(("experiment ", "the file", "unknown top-level"))
        return
    for experiment in experiments:
        assert "control" in experiment.variants
        assert all(variant.weight > 0 for variant in experiment.variants.values())
        assert experiment.winner in (None, *experiment.variants)


@given(st.dictionaries(st.sampled_from(["control", "warm"]), st.floats(0.01, 1000), min_size=2))
def test_every_assignment_is_a_declared_variant(declared: dict[str, float]) -> None:
    [experiment] = parse(document(variants=declared))
    assert {experiment.assign(f"user-{n}") for n in range(200)} <= set(declared)
