"""The staff console wired: its pages over the staff directory and the day's figures, the live
figures read from this process's metrics, its rooms (Alerts over the alert desk, Refunds and
payments over the payments desk, Bookings over the bookings board, Forecasts over the forecast
board, Conversations over the handoff's board, Settings over the settings desk), and the chat
identities linked to accounts handed to the role book (at start-up and every
``ROLE_REFRESH_SECONDS`` after, in every process)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web
from prometheus_client import Metric

from actions.alerts.desk import AlertDesk
from actions.forecasts.board import ForecastBoard
from actions.handoff.board import (
    ConsoleStaff,
    ConversationBoard,
    ConversationView,
    NotHeld,
    TakenByAnother,
    UnknownConversation,
    Unreachable,
)
from actions.payments.desk import PaymentsDesk
from actions.staff.accounts import StaffDirectory
from actions.staff.bookings import BookingsBoard
from actions.staff.settings import SettingsDesk, SettingState, UnknownSetting
from actions.staff.today import OPEN_MINUTES, TodayBooks
from bot.core.clock import Now
from bot.core.documents import DocumentError
from bot.core.observability import Metrics
from bot.core.roles import RoleBook
from bot.root.secret import secret_key
from bot.root.settings import PACKAGE_ROOT
from channels.console.access import StaffMember
from channels.console.alerts import AlertsRoom
from channels.console.bookings import BookingsRoom
from channels.console.conversations import ConversationsRoom, Refused
from channels.console.forecasts import ForecastsRoom
from channels.console.money import MoneyRoom
from channels.console.pages import Console
from channels.console.settings_room import SettingsRoom
from intents.dataset import OUT_OF_SCOPE

if TYPE_CHECKING:
    from bot.root.app import Runtime

log = structlog.get_logger("rsv360.console")

ROLE_REFRESH_SECONDS = 30.0
RATE_WINDOW_SECONDS = 60.0
MIN_RATE_SPAN_SECONDS = 10.0
"""Readings closer than this give no rate: one message in a second is not 60 a minute."""
NOT_UNDERSTOOD = {"-", OUT_OF_SCOPE}


class LiveFigures:
    """Messages per minute, reply-time percentiles and the understood share, from this
    process's own metrics (the percentiles and the share since it started)."""

    def __init__(self, metrics: Metrics, clock: Callable[[], float] = time.monotonic) -> None:
        self._metrics = metrics
        self._clock = clock
        self._totals: deque[tuple[float, float]] = deque()

    def values(self) -> dict[str, Any]:
        messages = _samples(self._metrics.messages.collect(), "_total")
        total = sum(value for _, value in messages)
        outside = sum(value for labels, value in messages if labels["intent"] == OUT_OF_SCOPE)
        understood = sum(
            value for labels, value in messages if labels["intent"] not in NOT_UNDERSTOOD
        )
        counted = understood + outside
        buckets = _buckets(_samples(self._metrics.turn_seconds.collect(), "_bucket"))
        return {
            "messages_per_minute": self._per_minute(total),
            "latency_p50_ms": _milliseconds(quantile(buckets, 0.5)),
            "latency_p95_ms": _milliseconds(quantile(buckets, 0.95)),
            "understood": int(understood),
            "out_of_scope": int(outside),
            "understood_percent": round(100 * understood / counted) if counted else None,
        }

    def _per_minute(self, total: float) -> float | None:
        """Messages per minute over the last minute of readings (None until they span
        ``MIN_RATE_SPAN_SECONDS``)."""
        now = self._clock()
        self._totals.append((now, total))
        while len(self._totals) > 2 and self._totals[1][0] <= now - RATE_WINDOW_SECONDS:
            self._totals.popleft()
        first_at, first = self._totals[0]
        if now - first_at < MIN_RATE_SPAN_SECONDS:
            return None
        return (total - first) * 60.0 / (now - first_at)


def _samples(collected: Iterable[Metric], suffix: str) -> list[tuple[dict[str, str], float]]:
    return [
        (dict(sample.labels), sample.value)
        for metric in collected
        for sample in metric.samples
        if sample.name.endswith(suffix)
    ]


def _buckets(samples: list[tuple[dict[str, str], float]]) -> list[tuple[float, float]]:
    """Cumulative counts per upper bound, summed over channels, in bound order."""
    by_bound: dict[float, float] = {}
    for labels, value in samples:
        bound = float(labels["le"])
        by_bound[bound] = by_bound.get(bound, 0.0) + value
    return sorted(by_bound.items())


def quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The ``q`` quantile of a cumulative histogram, interpolated within its bucket as
    Prometheus' ``histogram_quantile`` does; None without observations."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def _milliseconds(seconds: float | None) -> int | None:
    return round(seconds * 1000) if seconds is not None else None


class TodayBoard:
    """The Today page's values: the books' figures and the live ones."""

    def __init__(self, books: TodayBooks, live: LiveFigures, zone: str, now: Now) -> None:
        self._books = books
        self._live = live
        self._zone = ZoneInfo(zone)
        self._now = now

    async def values(self) -> Mapping[str, Any]:
        books = await self._books.figures()
        figures = asdict(books)
        return {
            **figures,
            "revenue": [asdict(line) for line in books.revenue],
            "open_minutes": OPEN_MINUTES,
            **self._live.values(),
            "updated": self._now().astimezone(self._zone).strftime("%H:%M:%S"),
        }


class ConsoleConversations:
    """The conversation board as the console's pages need it: template values with times in
    the hotel's zone, and the business's refusals as the console's ``Refused``."""

    def __init__(self, board: ConversationBoard, zone: str) -> None:
        self._board = board
        self._zone = ZoneInfo(zone)

    async def page(self, number: int, viewer: StaffMember) -> Mapping[str, Any]:
        found = await self._board.page(number, _staff(viewer))
        return {
            "conversations": [self._view(view) for view in found.conversations],
            "page": found.number,
            "older": found.older,
        }

    async def transcript(self, conversation: int, viewer: StaffMember) -> Mapping[str, Any]:
        try:
            found = await self._board.transcript(conversation, _staff(viewer))
        except UnknownConversation as error:
            raise Refused("unknown") from error
        lines = [{**asdict(line), "at": self._local(line.at)} for line in found.lines]
        return {"conversation": self._view(found.conversation), "lines": lines}

    async def take(self, conversation: int, viewer: StaffMember) -> None:
        try:
            await self._board.take(conversation, _staff(viewer))
        except UnknownConversation as error:
            raise Refused("unknown") from error
        except TakenByAnother as error:
            raise Refused("taken", error.args[0] if error.args else None) from error
        except Unreachable as error:
            raise Refused("unreachable") from error

    async def say(self, conversation: int, viewer: StaffMember, text: str) -> None:
        try:
            await self._board.say(conversation, _staff(viewer), text)
        except UnknownConversation as error:
            raise Refused("unknown") from error
        except NotHeld as error:
            raise Refused("not_held", error.args[0] if error.args else None) from error

    async def hand_back(self, conversation: int, viewer: StaffMember) -> None:
        try:
            await self._board.hand_back(conversation, _staff(viewer))
        except UnknownConversation as error:
            raise Refused("unknown") from error
        except NotHeld as error:
            raise Refused("not_held", error.args[0] if error.args else None) from error

    def _view(self, view: ConversationView) -> dict[str, Any]:
        return {**asdict(view), "last_at": self._local(view.last_at)}

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self._zone).strftime("%Y-%m-%d %H:%M:%S")


class ConsoleSettingsBoard:
    """The settings desk as the Settings page needs it: template values with times in the
    hotel's zone and paths relative to the repo, and a refused document as its reason."""

    def __init__(self, desk: SettingsDesk, zone: str) -> None:
        self._desk = desk
        self._zone = ZoneInfo(zone)

    async def overview(self) -> list[Mapping[str, Any]]:
        return [self._state(state) for state in await self._desk.overview()]

    async def setting(self, name: str) -> Mapping[str, Any] | None:
        try:
            state = await self._desk.state(name)
            history = await self._desk.history(name)
        except UnknownSetting:
            return None
        return {
            **self._state(state),
            "document": state.document,
            "history": [
                {**asdict(change), "changed_at": self._local(change.changed_at)}
                for change in history
            ],
        }

    async def save(self, name: str, document: str, actor: str, address: str | None) -> str | None:
        try:
            await self._desk.save(name, document, actor, address)
        except DocumentError as error:
            return str(error)
        return None

    async def reset(self, name: str, actor: str, address: str | None) -> bool:
        return await self._desk.reset(name, actor, address) is not None

    def _state(self, state: SettingState) -> dict[str, Any]:
        return {
            "name": state.name,
            "default_file": _shown_path(state.default_file),
            "overridden": state.overridden,
            "changed_by": state.changed_by,
            "changed_at": self._local(state.changed_at) if state.changed_at else None,
        }

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self._zone).strftime("%Y-%m-%d %H:%M:%S")


def _shown_path(path: Path | None) -> str | None:
    """A default file as staff find it: relative to the repo when it lives there."""
    if path is None:
        return None
    return str(path.relative_to(PACKAGE_ROOT)) if path.is_relative_to(PACKAGE_ROOT) else str(path)


def _staff(viewer: StaffMember) -> ConsoleStaff:
    return ConsoleStaff(viewer.id, viewer.email)


def mount_console(app: web.Application, runtime: Runtime) -> None:
    settings = runtime.settings
    directory = runtime.services.get(StaffDirectory)
    board = TodayBoard(
        runtime.services.get(TodayBooks),
        LiveFigures(runtime.metrics),
        settings.timezone,
        runtime.now,
    )
    Console(
        directory,
        board,
        runtime.renderer,
        settings.console,
        secret=secret_key(settings),
        secure_cookie=settings.base_url.startswith("https://"),
        edges=runtime.edges,
        rooms=[
            AlertsRoom(runtime.services.get(AlertDesk), directory.record, settings.timezone),
            MoneyRoom(runtime.services.get(PaymentsDesk), directory.record, settings.timezone),
            BookingsRoom(runtime.services.get(BookingsBoard), directory.record, settings.timezone),
            ForecastsRoom(runtime.services.get(ForecastBoard), directory.record),
            ConversationsRoom(
                ConsoleConversations(runtime.services.get(ConversationBoard), settings.timezone),
                directory.record,
            ),
            SettingsRoom(ConsoleSettingsBoard(runtime.settings_desk, settings.timezone)),
        ],
    ).mount(app)

    async def linked_roles(_: web.Application) -> AsyncIterator[None]:
        refreshing = asyncio.create_task(refresh_roles(directory, runtime.roles))
        yield
        refreshing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refreshing

    app.cleanup_ctx.append(linked_roles)


async def refresh_roles(
    directory: StaffDirectory, roles: RoleBook, every: float = ROLE_REFRESH_SECONDS
) -> None:
    """Hand the linked identities to the role book now and every ``every`` seconds; a failed
    read keeps the last ones (and the bootstrap identities always work)."""
    while True:
        try:
            roles.link(await directory.linked_roles())
        except Exception:
            log.exception("staff_roles_refresh_failed")
        await asyncio.sleep(every)
