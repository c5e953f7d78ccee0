"""The console's Alerts page: what fires now and what fired lately, with Acknowledge and
Silence (1 h, 24 h) as the chat messages have them; each press is in the audit log and the
alert's chat messages are updated as when pressed in chat."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp import web

from channels.console import forms
from channels.console.access import Access, Audit, Handler, StaffSession, read_form
from channels.console.pages import PageRender, pressed

SILENCE_HOURS = frozenset({1, 24})
PATH = "/console/alerts"


class AlertBoard(Protocol):
    async def listing(self, locale: str, timezone: str) -> Mapping[str, Any]:
        """``firing`` and ``recent`` alerts as the page's values, worded in ``locale``, their
        times in ``timezone``."""
        ...

    async def acknowledge(self, alert_id: int, actor: str) -> str: ...
    async def silence(self, alert_id: int, actor: str, hours: int) -> str: ...


class AlertsRoom:
    def __init__(self, board: AlertBoard, audit: Audit, timezone: str) -> None:
        self._board = board
        self._audit = audit
        self._timezone = timezone

    def routes(self, page: PageRender) -> list[tuple[str, str, Handler, Access]]:
        async def listing(
            request: web.Request, signed: StaffSession, status: int = 200, **values: Any
        ) -> web.StreamResponse:
            alerts = await self._board.listing(page.locale(request, signed), self._timezone)
            return page.render(request, signed, "alerts", {**alerts, **values}, status)

        async def acknowledge(request: web.Request, signed: StaffSession) -> web.StreamResponse:
            alert_id = forms.number(await read_form(request) or {}, "alert")
            if alert_id is None:
                return await listing(request, signed, 400, problem="invalid")
            result = await self._board.acknowledge(alert_id, signed.account.email)
            return await pressed(
                request, signed, listing, result, self._audit, "alert", str(alert_id), PATH
            )

        async def silence(request: web.Request, signed: StaffSession) -> web.StreamResponse:
            form = await read_form(request) or {}
            alert_id, hours = forms.number(form, "alert"), forms.number(form, "hours")
            if alert_id is None or hours not in SILENCE_HOURS:
                return await listing(request, signed, 400, problem="invalid")
            assert hours is not None
            result = await self._board.silence(alert_id, signed.account.email, hours)
            return await pressed(
                request, signed, listing, result, self._audit, "alert", str(alert_id), PATH,
                hours=hours,
            )  # fmt: skip

        return [
            ("GET", PATH, listing, "staff"),
            ("POST", f"{PATH}/acknowledge", acknowledge, "staff"),
            ("POST", f"{PATH}/silence", silence, "staff"),
        ]
