"""Each property's guest messages, from ``<directory>/<slug>.yaml``: which are on, when they go
out, whether marketing needs the guest's opt-in, and what the messages offer. The facts a
guest already asks the FAQ about (check-in time, address, map, parking, Wi-Fi) come from the
property's FAQ knowledge, so they are written once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from actions.lifecycle.schedule import KINDS, Kind, Timing

HOLD_REMINDER = "hold_reminder"
Localised = dict[str, str]
"""A text per locale (pt_BR, en, es)."""


class ConfigInvalid(ValueError):
    """A property's messages file is not YAML or says something impossible (named in the text)."""


class MessageSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    days: int = Field(default=0, ge=-30, le=30)
    at: time = time(10, 0)
    hours: int = Field(default=24, ge=1, le=24 * 14)

    @property
    def timing(self) -> Timing:
        return Timing(self.days, self.at, self.hours)


class Extra(BaseModel):
    """Something the property sells on top of the stay (breakfast, a transfer)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z_]{1,32}$")
    price: int = Field(ge=0, description="In minor units of the property's currency.")
    names: Localised


class PropertyMessages(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str
    opt_in_required: bool = False
    contact: str | None = None
    review_url: str | None = Field(default=None, pattern=r"^https://")
    bring: Localised = Field(default_factory=dict)
    extras: list[Extra] = Field(default_factory=list)
    messages: dict[str, MessageSwitch] = Field(default_factory=dict)

    def switch(self, kind: str) -> MessageSwitch | None:
        """The message's settings when it is on; None when off or not configured."""
        found = self.messages.get(kind)
        return found if found is not None and found.enabled else None

    def extra(self, code: str) -> Extra | None:
        return next((extra for extra in self.extras if extra.code == code), None)

    def text(self, texts: Localised, locale: str) -> str | None:
        return texts.get(locale) or next(iter(texts.values()), None)


class MessagesConfig:
    """Every property's messages; a property without a file sends only the hold reminder."""

    def __init__(self, properties: Mapping[str, PropertyMessages]) -> None:
        self._properties = dict(properties)

    def of(self, slug: str) -> PropertyMessages | None:
        return self._properties.get(slug)

    def hold_reminder_on(self, slug: str) -> bool:
        found = self._properties.get(slug)
        return found is None or found.switch(HOLD_REMINDER) is not None


def load_config(directory: Path) -> MessagesConfig:
    properties = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            found = PropertyMessages.model_validate(document)
        except (yaml.YAMLError, ValidationError, UnicodeDecodeError) as error:
            raise ConfigInvalid(f"{path}: {error}") from None
        unknown = set(found.messages) - {*KINDS, HOLD_REMINDER}
        if unknown:
            raise ConfigInvalid(f"{path}: no such message {sorted(unknown)}")
        properties[found.slug] = found
    return MessagesConfig(properties)


def kinds_on(config: PropertyMessages) -> list[Kind]:
    return [kind for kind in KINDS if config.switch(kind) is not None]
