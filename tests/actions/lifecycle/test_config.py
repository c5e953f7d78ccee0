"""The properties' message files: the demo's is valid, a mistake names the file, and no text
at all makes the loader fail otherwise than with ``ConfigInvalid``."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from actions.lifecycle.config import ConfigInvalid, load_config
from actions.lifecycle.settings import PROPERTIES_DIR


def test_the_demo_pousada_sends_every_message() -> None:
    demo = load_config(PROPERTIES_DIR).of("pousada-do-mar")
    assert demo is not None
    assert demo.opt_in_required
    pre_arrival = demo.switch("pre_arrival")
    assert pre_arrival is not None
    assert (pre_arrival.days, pre_arrival.at) == (-3, time(10, 0))
    assert [extra.code for extra in demo.extras] == ["transfer"]
    assert load_config(PROPERTIES_DIR).hold_reminder_on("a-property-without-a-file")


@pytest.mark.parametrize(
    "document",
    [
        "slug: x\nmessages: {birthday: {enabled: true}}\n",
        "slug: x\nmessages: {arrival: {at: '25:00'}}\n",
        "slug: x\nmessages: {arrival: {days: 400}}\n",
        "slug: x\nreview_url: 'http://plain.example'\n",
        "slug: x\nextras: [{code: 'Spa!', price: 1, names: {en: Spa}}]\n",
        "slug: x\nextras: [{code: spa, price: -1, names: {en: Spa}}]\n",
        "slug: x\nsurprise: 1\n",
        "slug: [unclosed\n",
        "just a sentence\n",
        "",
    ],
)
def test_a_mistake_names_the_file(tmp_path: Path, document: str) -> None:
    (tmp_path / "broken.yaml").write_text(document, encoding="utf-8")
    with pytest.raises(ConfigInvalid, match=r"broken\.yaml"):
        load_config(tmp_path)


SCALARS = st.none() | st.booleans() | st.integers(-500, 500) | st.text(max_size=12)
DOCUMENTS = st.one_of(
    st.binary(max_size=300).map(lambda raw: raw.decode("latin-1")),
    st.fixed_dictionaries(
        {"slug": st.text(min_size=1, max_size=10)},
        optional={
            "opt_in_required": SCALARS,
            "messages": st.dictionaries(
                st.sampled_from(["pre_arrival", "arrival", "post_stay", "abandoned", "x"]),
                st.dictionaries(st.sampled_from(["enabled", "days", "at", "hours"]), SCALARS),
            ),
            "extras": st.lists(st.dictionaries(st.sampled_from(["code", "price"]), SCALARS)),
        },
    ).map(yaml.safe_dump),
)


@given(DOCUMENTS)
def test_any_document_loads_or_fails_as_invalid(
    tmp_path_factory: pytest.TempPathFactory, document: str
) -> None:
    directory = tmp_path_factory.mktemp("messages")
    (directory / "any.yaml").write_text(document, encoding="utf-8", errors="surrogateescape")
    try:
        config = load_config(directory)
    except ConfigInvalid:
        return
    slug = yaml.safe_load(document)["slug"]
    found = config.of(slug)
    assert found is not None
    assert all(switch.days in range(-30, 31) for switch in found.messages.values())
