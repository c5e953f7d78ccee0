"""Who hears of which alert: the routing file (YAML), read and checked once at start-up.

```yaml
destinations:
  front-desk: {to: "slack:C0123", locale: pt_BR, quiet_hours: "22:00-07:00"}
  ops-mail: {to: "email:ops@pousada.example", locale: en}
fallback: ops-mail          # where an alert goes when a destination keeps failing
routes:
  - {types: [payment, security], to: [front-desk, ops-mail]}
  - {severities: [critical], to: [front-desk]}
```

Every route whose types and severities match (missing: all) adds its destinations. A mistake
(an unknown destination, a misspelt type, a bad time zone) fails start-up with a message that
names the file and the line, never at 3 a.m. when the first alert arrives; a routing document
saved in the console is checked by the same ``parse_routing`` and refused the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from actions.alerts.model import AlertType, Severity
from bot.core.documents import MAX_DOCUMENT_CHARS, DocumentError
from bot.core.locales import SUPPORTED_LOCALES

CHAT_CHANNELS = ("slack", "telegram", "discord", "whatsapp")
_EMAIL = re.compile(r"^[^@\s:]+@[^@\s]+\.[^@\s]+$")
_CHAT = re.compile(r"^([a-z]+):([^:\s]{1,100})$")
_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")

Kind = Literal["chat", "webhook", "email"]


class RoutingError(DocumentError):
    """The routing document cannot be used; ``where`` names the line (and the file)."""


@dataclass(frozen=True, slots=True)
class Target:
    kind: Kind
    channel: str
    """The chat channel (``slack``), or ``webhook`` / ``email``."""
    address: str
    """The conversation, the webhook URL or the e-mail address."""


def parse_target(text: str) -> Target:
    """``slack:C0123``, ``telegram:-100123``, ``discord:456``, ``email:a@b.example`` or an
    incoming-webhook URL; ``ValueError`` naming what is wrong otherwise."""
    if text.startswith(("https://", "http://")) and " " not in text:
        return Target("webhook", "webhook", text)
    if text.startswith("email:"):
        address = text.removeprefix("email:")
        if not _EMAIL.fullmatch(address):
            raise ValueError(f"{address!r} is not an e-mail address")
        return Target("email", "email", address)
    match = _CHAT.fullmatch(text)
    if match is None or match.group(1) not in CHAT_CHANNELS:
        raise ValueError(
            f"unknown destination {text!r}: use channel:conversation "
            f"({', '.join(CHAT_CHANNELS)}), email:address or a webhook URL"
        )
    return Target("chat", match.group(1), match.group(2))


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        match = _QUIET.fullmatch(text)
        if match is None:
            raise ValueError(f"quiet hours {text!r} are not HH:MM-HH:MM")
        hours = [int(part) for part in match.groups()]
        return cls(time(hours[0], hours[1]), time(hours[2], hours[3]))

    def contain(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # across midnight


@dataclass(frozen=True, slots=True)
class Destination:
    name: str
    target: Target
    locale: str
    timezone: str
    quiet_hours: QuietHours | None
    line: int
    """Where the routing file declares it, for the errors found once the channels are up."""

    def quiet_at(self, now: datetime) -> bool:
        """Whether ``now`` falls in the quiet hours, on the destination's own clock."""
        if self.quiet_hours is None:
            return False
        return self.quiet_hours.contain(now.astimezone(ZoneInfo(self.timezone)).time())


class _DestinationEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str
    locale: str | None = None
    timezone: str | None = None
    quiet_hours: str | None = None

    @field_validator("to")
    @classmethod
    def _target(cls, value: str) -> str:
        parse_target(value)
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value is not None and value not in SUPPORTED_LOCALES:
            raise ValueError(f"locale {value!r} is not one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is not None:
            QuietHours.parse(value)
        return value


class _RouteEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    types: list[AlertType] | None = None
    severities: list[Severity] | None = None
    to: list[str] = Field(min_length=1)


class _RoutingFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    destinations: dict[str, _DestinationEntry] = Field(default_factory=dict)
    fallback: str | None = None
    routes: list[_RouteEntry] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Route:
    types: frozenset[str] | None
    severities: frozenset[str] | None
    to: tuple[str, ...]

    def matches(self, kind: str, level: str) -> bool:
        return (self.types is None or kind in self.types) and (
            self.severities is None or level in self.severities
        )


@dataclass(frozen=True, slots=True)
class Routing:
    destinations: dict[str, Destination]
    routes: tuple[Route, ...]
    fallback: Destination | None

    def destinations_for(self, kind: str, level: str) -> list[Destination]:
        """Every destination of every matching route, each once, in file order."""
        names = dict.fromkeys(
            name for route in self.routes if route.matches(kind, level) for name in route.to
        )
        return [self.destinations[name] for name in names]

    @classmethod
    def single(cls, target: str, locale: str, timezone: str) -> Routing:
        """Everything to one destination (``RSV_STAFF_ALERTS`` without a routing file)."""
        destination = Destination("staff", parse_target(target), locale, timezone, None, 0)
        return cls({"staff": destination}, (Route(None, None, ("staff",)),), None)

    @classmethod
    def empty(cls) -> Routing:
        return cls({}, (), None)


def load_routing(path: Path, default_locale: str, default_timezone: str) -> Routing:
    """The routing file, checked; ``RoutingError`` names the file and the line of the first
    mistake."""
    try:
        return parse_routing(path.read_text(encoding="utf-8"), default_locale, default_timezone)
    except RoutingError as error:
        raise RoutingError(f"{path}:{error.where.removeprefix('line ')}", error.reason) from None


def parse_routing(text: str, default_locale: str, default_timezone: str) -> Routing:
    """A routing document, checked; ``RoutingError`` names the line of the first mistake
    (``line 7: unknown destination 'ops'``)."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise RoutingError("line 1", f"the document is over {MAX_DOCUMENT_CHARS // 1024} KiB")
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(error, "problem", None) or error
        raise RoutingError(f"line {line}", f"not YAML ({problem})") from None

    def fail(location: tuple[Any, ...], why: str) -> RoutingError:
        return RoutingError(f"line {_line(tree, location)}", why)

    try:
        parsed = _RoutingFile.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "file"
        raise fail(tuple(first["loc"]), f"{where}: {first['msg']}") from None
    destinations = {
        name: Destination(
            name,
            parse_target(entry.to),
            entry.locale or default_locale,
            entry.timezone or default_timezone,
            QuietHours.parse(entry.quiet_hours) if entry.quiet_hours else None,
            _line(tree, ("destinations", name)),
        )
        for name, entry in parsed.destinations.items()
    }
    for index, route in enumerate(parsed.routes):
        for position, name in enumerate(route.to):
            if name not in destinations:
                raise fail(("routes", index, "to", position), f"unknown destination {name!r}")
    fallback = None
    if parsed.fallback is not None:
        fallback = destinations.get(parsed.fallback)
        if fallback is None:
            raise fail(("fallback",), f"unknown destination {parsed.fallback!r}")
    routes = tuple(
        Route(
            frozenset(route.types) if route.types is not None else None,
            frozenset(route.severities) if route.severities is not None else None,
            tuple(route.to),
        )
        for route in parsed.routes
    )
    return Routing(destinations, routes, fallback)


def _line(node: yaml.Node | None, location: tuple[Any, ...]) -> int:
    """The 1-based line of the deepest node of ``location`` that the file has."""
    line = node.start_mark.line + 1 if node is not None else 0
    for part in location:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == str(part)), None)
            if child is None:  # the error is on the key itself (a misspelt field)
                child = next((key for key, _ in node.value if key.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line
