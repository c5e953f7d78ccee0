"""Outcomes become replies: Jinja templates in ``prompts/``, wording through gettext catalogs.

One Jinja environment per (locale, markup): the translations are installed on it, and HTML
channels get autoescaping so that values (names, e-mails, free text) can never become markup.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Literal

from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.core.locales import SUPPORTED_LOCALES, load_translations, negotiate
from bot.core.types import Button, Choice, Notice, Outcome, Reply

Markup = Literal["html", "plain"]
LABELS_TEMPLATE = "labels.j2"


class Renderer:
    def __init__(self, templates_dir: Path, locales_dir: Path, default_locale: str) -> None:
        self._templates_dir = templates_dir
        self.default_locale = default_locale
        self._translations = {
            locale: load_translations(locales_dir, locale) for locale in SUPPORTED_LOCALES
        }
        self._environments: dict[tuple[str, Markup], Environment] = {}

    def render(
        self, outcome: Outcome, locale: str, markup: Markup, variant: str | None = None
    ) -> Reply:
        environment = self._environment(locale, markup)
        name = f"{outcome.template}.{variant}.j2" if variant else f"{outcome.template}.j2"
        text = environment.get_template(name).render(outcome.values).strip()
        buttons = tuple(self._button(choice, locale) for choice in outcome.choices)
        return Reply(
            text=text,
            buttons=buttons,
            image=outcome.image,
            copy_text=outcome.copy_text,
            notice=Notice(outcome.template, outcome.values, locale),
        )

    def locale_for(self, hint: str | None) -> str:
        return negotiate(hint, self.default_locale)

    def _button(self, choice: Choice, locale: str) -> Button:
        labels = self._environment(locale, "plain").get_template(LABELS_TEMPLATE).module
        title = str(getattr(labels, choice.label)(**choice.values)).strip()
        return Button(title=title, payload=choice.payload, url=choice.url)

    def _environment(self, locale: str, markup: Markup) -> Environment:
        key = (locale, markup)
        if key not in self._environments:
            environment = Environment(
                loader=FileSystemLoader(self._templates_dir),
                autoescape=markup == "html",
                undefined=StrictUndefined,
                extensions=["jinja2.ext.i18n"],
                trim_blocks=False,
                auto_reload=False,
                lstrip_blocks=True,
                keep_trailing_newline=False,
            )
            environment.install_gettext_translations(  # type: ignore[attr-defined]
                self._translations[locale], newstyle=True
            )
            environment.policies["ext.i18n.trimmed"] = True
            environment.globals["locale"] = locale
            environment.filters["money"] = partial(_money, locale=locale)
            environment.filters["day"] = partial(_day, locale=locale)
            environment.filters["day_month"] = partial(_day_month, locale=locale)
            self._environments[key] = environment
        return self._environments[key]


def _money(minor_units: int, currency: str, *, locale: str) -> str:
    """Integer minor units as the locale writes money: 118240 BRL → "R$ 1.182,40" in pt_BR."""
    return format_currency(Decimal(minor_units) / 100, currency, locale=locale)


def _day(iso_date: str, style: str = "medium", *, locale: str) -> str:
    return format_date(date.fromisoformat(iso_date), format=style, locale=locale)


def _day_month(iso_date: str, *, locale: str) -> str:
    """Day and month as the locale writes them short: "30/12" in pt_BR and es, "12/30" in en."""
    return format_skeleton("dM", date.fromisoformat(iso_date), locale=locale)
