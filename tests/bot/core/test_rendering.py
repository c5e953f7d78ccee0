"""Templates and catalogs: every message translated in every locale, escaping fits the channel."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.core.locales import SUPPORTED_LOCALES, negotiate
from bot.core.render import Renderer
from bot.core.types import Choice, Outcome
from bot.root.settings import PACKAGE_ROOT

PROMPTS = PACKAGE_ROOT / "prompts"
LOCALES = PACKAGE_ROOT / "locales"
JINJA = [("**.j2", "jinja2")]
OPTIONS = {"**.j2": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


def source_msgids() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for _, _, message, _, _ in extract_from_dir(str(PROMPTS), JINJA, OPTIONS):
        found.add(message)
    return found


def catalog(locale: str | None) -> object:
    path = (
        LOCALES / "messages.pot"
        if locale is None
        else LOCALES / locale / "LC_MESSAGES" / "messages.po"
    )
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def test_the_template_catalog_is_up_to_date_with_the_prompts() -> None:
    pot = catalog(None)
    in_pot = {message.id for message in pot if message.id}  # type: ignore[attr-defined]
    assert in_pot == source_msgids(), "run: pybabel extract (see README, Translations)"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_message_is_translated(locale: str) -> None:
    po = catalog(locale)
    messages = {message.id: message for message in po if message.id}  # type: ignore[attr-defined]
    missing = [msgid for msgid in source_msgids() if msgid not in messages]
    assert not missing, f"{locale} lacks {missing}; run pybabel update"
    untranslated = [
        message.id
        for message in messages.values()
        if message.fuzzy
        or not message.string
        or (isinstance(message.string, tuple) and not all(message.string))
    ]
    assert not untranslated, f"{locale} has untranslated or fuzzy messages: {untranslated}"
    problems = [(message.id, errors) for message, errors in po.check()]  # type: ignore[attr-defined]
    assert not problems, f"{locale}: placeholders differ from the source: {problems}"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(PROMPTS, LOCALES, "pt_BR")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_error_and_label_renders_in_every_locale(renderer: Renderer, locale: str) -> None:
    for template in sorted((PROMPTS / "errors").glob("*.j2")):
        text = renderer.render(Outcome(f"errors/{template.stem}"), locale, "plain").text
        assert text
    labels = ["menu_book", "menu_faq", "menu_my_bookings", "menu_human", "confirm", "cancel"]
    reply = renderer.render(
        Outcome("engine/form_cancelled", choices=tuple(Choice(label) for label in labels)),
        locale,
        "plain",
    )
    assert all(button.title for button in reply.buttons)


def test_translations_differ_by_locale(renderer: Renderer) -> None:
    texts = {
        locale: renderer.render(Outcome("smalltalk/thanks"), locale, "plain").text
        for locale in SUPPORTED_LOCALES
    }
    assert texts == {
        "pt_BR": "De nada! Posso ajudar em mais alguma coisa?",
        "en": "You're welcome! Anything else I can do for you?",
        "es": "¡De nada! ¿Puedo ayudarte en algo más?",
    }


def test_plural_forms_follow_the_locale(renderer: Renderer) -> None:
    one = renderer.render(Outcome("engine/slow_down", {"seconds": 1}), "pt_BR", "plain").text
    many = renderer.render(Outcome("engine/slow_down", {"seconds": 30}), "es", "plain").text
    assert "1 segundo e" in one
    assert "30 segundos" in many


def test_html_channels_escape_values_and_plain_channels_do_not(renderer: Renderer) -> None:
    outcome = Outcome("smalltalk/greet", {"brand": "<b>Mar & Sol</b>"})
    assert "&lt;b&gt;Mar &amp; Sol&lt;/b&gt;" in renderer.render(outcome, "en", "html").text
    assert "<b>Mar & Sol</b>" in renderer.render(outcome, "en", "plain").text


def test_a_variant_renders_its_own_template(renderer: Renderer) -> None:
    outcome = Outcome("smalltalk/greet", {"brand": "Pousada"})
    assert renderer.render(outcome, "en", "plain", "warm").text.startswith("Hi, welcome")
    assert renderer.render(outcome, "en", "plain").text.startswith("Hello!")


@pytest.mark.parametrize(
    ("hint", "locale"),
    [
        ("pt-BR", "pt_BR"),
        ("pt-PT", "pt_BR"),
        ("pt", "pt_BR"),
        ("en-GB", "en"),
        ("ES_mx", "es"),
        ("fr-FR", "pt_BR"),
        ("", "pt_BR"),
        (None, "pt_BR"),
        ("x" * 40, "pt_BR"),
    ],
)
def test_locale_hints_map_to_supported_locales(hint: str | None, locale: str) -> None:
    assert negotiate(hint, "pt_BR") == locale


def test_every_template_file_is_valid_jinja(renderer: Renderer) -> None:
    from jinja2 import Environment

    environment = Environment(extensions=["jinja2.ext.i18n"])
    for path in Path(PROMPTS).rglob("*.j2"):
        environment.parse(path.read_text(encoding="utf-8"))
