"""Approved message templates: what the bot may send outside the 24-hour window.

WhatsApp lets a business write free-form only within 24 hours of the guest's last message;
after that only a template Meta approved. ``templates.yaml`` declares, per notice (the
template key of an engine ``Outcome``), the approved template's name, its language per locale,
and which of the notice's values fill its body parameters, in order. The file is checked when
the channel starts: a typo in it fails the start-up, not a guest's confirmation a day later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError


class TemplatesInvalid(ValueError):
    """The templates file is missing, not YAML, or declares something impossible."""


class ApprovedTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    languages: dict[str, str] = Field(min_length=1)
    """Our locale (pt_BR) → the template's language code at Meta (pt_BR, en_US, es)."""
    parameters: tuple[str, ...] = ()
    """Names of the notice's values, in the order of the template's {{1}}, {{2}}, …"""


class _File(RootModel[dict[str, ApprovedTemplate]]):
    pass


class Templates:
    def __init__(self, by_notice: Mapping[str, ApprovedTemplate]) -> None:
        self._by_notice = dict(by_notice)

    @classmethod
    def load(
        cls, path: Path, locales: tuple[str, ...], notice_exists: Callable[[str], bool]
    ) -> Templates:
        """Read and check the file: every notice exists, every locale has a language."""
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            declared = _File.model_validate(document).root
        except (OSError, yaml.YAMLError, ValidationError) as error:
            raise TemplatesInvalid(f"{path}: {error}") from None
        for notice, template in declared.items():
            if not notice_exists(notice):
                raise TemplatesInvalid(f"{path}: {notice}: no such notice template")
            missing = sorted(set(locales) - set(template.languages))
            if missing:
                raise TemplatesInvalid(f"{path}: {notice}: no language for {', '.join(missing)}")
        return cls(declared)

    def for_notice(self, notice: str) -> ApprovedTemplate | None:
        return self._by_notice.get(notice)

    def message(self, notice: str, locale: str, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """The ``template`` object of a Cloud API message for a notice, None when the notice
        has no approved template or a value is missing."""
        template = self._by_notice.get(notice)
        if template is None or any(name not in values for name in template.parameters):
            return None
        language = template.languages.get(locale) or next(iter(template.languages.values()))
        document: dict[str, Any] = {"name": template.name, "language": {"code": language}}
        if template.parameters:
            parameters = [
                {"type": "text", "text": str(values[name])} for name in template.parameters
            ]
            document["components"] = [{"type": "body", "parameters": parameters}]
        return document
