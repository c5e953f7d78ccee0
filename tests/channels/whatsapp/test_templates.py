"""The approved templates file: the shipped one loads, a broken one fails the start-up with a
reason, and a notice's values fill the template's parameters in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.locales import SUPPORTED_LOCALES
from bot.root.providers import notice_exists
from channels.whatsapp.settings import TEMPLATES_FILE
from channels.whatsapp.templates import Templates, TemplatesInvalid

EVERY_LANGUAGE = "  languages: {pt_BR: pt_BR, en: en, es: es}\n"


def test_the_shipped_templates_declare_real_notices_in_every_language() -> None:
    templates = Templates.load(TEMPLATES_FILE, SUPPORTED_LOCALES, notice_exists)
    for notice in ("booking/confirmed", "booking/hold_expired", "payments/refund_paid"):
        assert templates.for_notice(notice) is not None, notice


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("booking/confirmed: [", "while parsing"),
        (
            "booking/confirmed:\n  name: Bad Name\n  languages: {pt_BR: pt_BR, en: en, es: es}\n",
            "should match pattern",
        ),
        (
            "booking/nothing:\n  name: x\n  languages: {pt_BR: pt_BR, en: en, es: es}\n",
            "no such notice",
        ),
        ("booking/confirmed:\n  name: x\n  languages: {pt_BR: pt_BR}\n", "no language for en, es"),
        (
            "booking/confirmed:\n  name: x\n" + EVERY_LANGUAGE + "  extra: 1\n",
            "Extra inputs",
        ),
    ],
)
def test_a_broken_templates_file_fails_with_its_reason(
    tmp_path: Path, content: str, reason: str
) -> None:
    path = tmp_path / "templates.yaml"
    path.write_text(content)
    with pytest.raises(TemplatesInvalid, match=reason):
        Templates.load(path, SUPPORTED_LOCALES, notice_exists)


def test_a_missing_file_fails_too(tmp_path: Path) -> None:
    with pytest.raises(TemplatesInvalid, match="No such file"):
        Templates.load(tmp_path / "absent.yaml", SUPPORTED_LOCALES, notice_exists)


def test_values_fill_the_parameters_in_order_and_a_missing_value_means_no_template() -> None:
    templates = Templates.load(TEMPLATES_FILE, SUPPORTED_LOCALES, notice_exists)
    values = {"code": "RSV-1", "property": "Mar", "checkin": "2027-01-10", "checkout": "2027-01-12"}
    message = templates.message("booking/confirmed", "es", values)
    assert message is not None
    assert message["language"] == {"code": "es"}
    assert [p["text"] for p in message["components"][0]["parameters"]] == list(values.values())
    assert templates.message("booking/confirmed", "en", {"code": "RSV-1"}) is None
    assert templates.message("smalltalk/thanks", "en", {}) is None
