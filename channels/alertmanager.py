"""``POST /alerts/alertmanager``: Prometheus Alertmanager's webhook (payload version 4).

Alertmanager sends one notification per alert group: ``status``, ``groupKey``, the labels and
annotations every alert of the group shares, and ``alerts[]``. The receiver checks the
credentials its ``http_config`` sends (a bearer token or basic auth, compared in constant time;
401 otherwise), refuses a body over the limit (413) and anything but a well-formed group (400),
before anything is stored; then hands the group to the sink. A sink that fails answers 503, so
Alertmanager tries again.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from aiohttp import BasicAuth, web

from bot.edge.credentials import bearer_matches, header_bytes
from bot.edge.json_body import MalformedJson, json_object

log = structlog.get_logger("rsv360.alertmanager")

PATH = "/alerts/alertmanager"
MAX_ALERTS = 1000
MAX_KEY_CHARS = 2000
MAX_LABELS = 64
MAX_LABEL_CHARS = 4000
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_STATUSES = ("firing", "resolved")


@dataclass(frozen=True, slots=True)
class ReceivedAlert:
    fingerprint: str
    status: str
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True, slots=True)
class AlertGroup:
    status: str
    """``firing`` while any alert of the group fires, else ``resolved``."""
    group_key: str
    labels: dict[str, str]
    """``commonLabels``."""
    annotations: dict[str, str]
    """``commonAnnotations``."""
    alerts: tuple[ReceivedAlert, ...]
    external_url: str


Sink = Callable[[AlertGroup], Awaitable[None]]


def parse_group(document: dict[str, Any]) -> AlertGroup:
    """The group in an Alertmanager payload; ``MalformedJson`` for anything else."""
    if document.get("version") != "4":
        raise MalformedJson("invalid_request")
    alerts = document.get("alerts")
    if not isinstance(alerts, list) or not 0 < len(alerts) <= MAX_ALERTS:
        raise MalformedJson("invalid_request")
    return AlertGroup(
        status=_status(document.get("status")),
        group_key=_text(document.get("groupKey"), MAX_KEY_CHARS, required=True),
        labels=_labels(document.get("commonLabels", {})),
        annotations=_labels(document.get("commonAnnotations", {})),
        alerts=tuple(_alert(alert) for alert in alerts),
        external_url=_text(document.get("externalURL", ""), MAX_LABEL_CHARS),
    )


class AlertmanagerReceiver:
    def __init__(
        self,
        sink: Sink,
        tokens: Sequence[str],
        basic: tuple[str, str] | None,
        max_bytes: int,
    ) -> None:
        self._sink = sink
        self._tokens = [token.encode() for token in tokens]
        self._basic = (basic[0].encode(), basic[1].encode()) if basic else None
        self._max_bytes = max_bytes

    def mount(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.receive)

    async def receive(self, request: web.Request) -> web.Response:
        if not self._authorised(request.headers.get("Authorization", "")):
            log.warning("alertmanager_unauthorised")
            return web.json_response(
                {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
            )
        if (request.content_length or 0) > self._max_bytes:
            return _too_large()
        body = await request.content.read(self._max_bytes + 1)
        if len(body) > self._max_bytes:
            return _too_large()
        try:
            group = parse_group(json_object(body))
        except MalformedJson as refused:
            log.warning("alertmanager_refused", code=refused.code)
            return web.json_response({"error": refused.code}, status=400)
        try:
            await self._sink(group)
        except Exception:
            log.exception("alertmanager_sink_failed")
            return web.json_response({"error": "unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    def _authorised(self, authorization: str) -> bool:
        """The bearer token, or the basic credentials; both checks always run, so the time
        does not say which came close."""
        bearer = bool(self._tokens) and bearer_matches(authorization, self._tokens)
        basic = self._basic is not None and _basic_matches(authorization, self._basic)
        return bearer or basic


def _basic_matches(authorization: str, expected: tuple[bytes, bytes]) -> bool:
    try:
        offered = BasicAuth.decode(authorization)
    except ValueError:
        return False
    user = hmac.compare_digest(header_bytes(offered.login), expected[0])
    password = hmac.compare_digest(header_bytes(offered.password), expected[1])
    return user and password


def _too_large() -> web.Response:
    return web.json_response({"error": "too_large"}, status=413)


def _alert(value: Any) -> ReceivedAlert:
    if not isinstance(value, dict):
        raise MalformedJson("invalid_request")
    return ReceivedAlert(
        fingerprint=_text(value.get("fingerprint", ""), 200),
        status=_status(value.get("status")),
        starts_at=_moment(value.get("startsAt"), required=True),  # type: ignore[arg-type]
        ends_at=_moment(value.get("endsAt")),
        generator_url=_text(value.get("generatorURL", ""), MAX_LABEL_CHARS),
        labels=_labels(value.get("labels", {})),
        annotations=_labels(value.get("annotations", {})),
    )


def _status(value: Any) -> str:
    if value not in _STATUSES:
        raise MalformedJson("invalid_request")
    return str(value)


def _text(value: Any, limit: int, *, required: bool = False) -> str:
    """A string within ``limit``; control characters (but tab and line feed) become spaces."""
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise MalformedJson("invalid_request")
    return _CONTROL.sub(" ", value)


def _labels(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > MAX_LABELS:
        raise MalformedJson("invalid_request")
    labels = {}
    for name, text in value.items():
        if not _LABEL_NAME.fullmatch(name):
            raise MalformedJson("invalid_request")
        labels[name] = _text(text, MAX_LABEL_CHARS)
    return labels


def _moment(value: Any, *, required: bool = False) -> datetime | None:
    """An RFC 3339 time; Alertmanager's zero time (``0001-01-01T00:00:00Z``) means none."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise MalformedJson("invalid_request")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedJson("invalid_request") from None
    if moment.tzinfo is None:
        raise MalformedJson("invalid_request")
    if moment.year <= 1:
        if required:
            raise MalformedJson("invalid_request")
        return None
    return moment
