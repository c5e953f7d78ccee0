"""The console's Bookings pages: reservations found by code, the guest's e-mail or name, stay
dates, property and state (newest first, a page at a time), and one reservation with its audit
trail, payments, ledger rows and refunds. Staff cancel it (with the refund its policy gives),
send the guest the payment link again or the confirmation again; the guest hears each on their
own channel. Each press goes through the bookings board the composition root hands in, and is
in the audit log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from aiohttp import web

from channels.console import forms
from channels.console.access import Access, Audit, Handler, StaffSession
from channels.console.pages import PageRender, pressed

PATH = "/console/bookings"
Action = Callable[[str, str], Awaitable[str]]
"""A press on a reservation: (its code, who pressed) → what happened."""
PAGE_ROWS = 50


class BookingBoard(Protocol):
    async def properties(self) -> list[dict[str, str]]: ...

    async def search(
        self,
        *,
        locale: str,
        code: str | None = None,
        email: str | None = None,
        name: str | None = None,
        since: date | None = None,
        until: date | None = None,
        property: str | None = None,
        state: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[dict[str, Any]]: ...

    async def detail(self, code: str, locale: str) -> Mapping[str, Any] | None: ...

    async def cancel(self, code: str, actor: str) -> str: ...
    async def resend_link(self, code: str, actor: str) -> str: ...
    async def resend_confirmation(self, code: str, actor: str) -> str: ...


class BookingsRoom:
    def __init__(self, board: BookingBoard, audit: Audit, timezone: str) -> None:
        self._board = board
        self._audit = audit
        self._zone = ZoneInfo(timezone)

    def routes(self, page: PageRender) -> list[tuple[str, str, Handler, Access]]:
        board = self._board

        async def listing(
            request: web.Request, signed: StaffSession, status: int = 200, **values: Any
        ) -> web.StreamResponse:
            chosen = forms.booking_filter(request.query)
            if chosen is None:
                chosen, status, values = forms.BookingFilter(), 400, {"problem": "filter"}
            rows = await self._board.search(
                locale=page.locale(request, signed),
                code=chosen.code,
                email=chosen.email,
                name=chosen.name,
                since=chosen.since,
                until=chosen.until,
                property=chosen.property,
                state=chosen.state,
                offset=(chosen.page - 1) * PAGE_ROWS,
                limit=PAGE_ROWS + 1,
            )
            found = {
                "bookings": [self._local(row) for row in rows[:PAGE_ROWS]],
                "more": len(rows) > PAGE_ROWS,
                "filter": chosen,
                "properties": await self._board.properties(),
                "states": forms.BOOKING_STATES,
            }
            return page.render(request, signed, "bookings", {**found, **values}, status)

        async def detail(
            request: web.Request, signed: StaffSession, status: int = 200, **values: Any
        ) -> web.StreamResponse:
            code = forms.booking_code(request.match_info["code"])
            found = await self._board.detail(code, page.locale(request, signed)) if code else None
            if found is None:
                return page.render(request, signed, "booking_missing", {}, 404)
            shown = {
                "booking": self._local(dict(found["booking"])),
                **{part: [self._local(row) for row in found[part]] for part in PARTS},
            }
            return page.render(request, signed, "booking", {**shown, **values}, status)

        def act(action: Action, audited: str) -> Handler:
            async def press(request: web.Request, signed: StaffSession) -> web.StreamResponse:
                code = forms.booking_code(request.match_info["code"])
                if code is None:
                    return page.render(request, signed, "booking_missing", {}, 404)
                result = await action(code, actor(signed))
                return await pressed(
                    request, signed, detail, result, self._audit, audited, code, f"{PATH}/{code}"
                )

            return press

        return [
            ("GET", PATH, listing, "staff"),
            ("GET", f"{PATH}/{{code}}", detail, "staff"),
            ("POST", f"{PATH}/{{code}}/cancel", act(board.cancel, "booking"), "staff"),
            ("POST", f"{PATH}/{{code}}/payment-link", act(board.resend_link, "link"), "staff"),
            (
                "POST",
                f"{PATH}/{{code}}/confirmation",
                act(board.resend_confirmation, "confirmation"),
                "staff",
            ),
        ]

    def _local(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row's moments in the hotel's zone, as the page shows them."""
        return {
            name: value.astimezone(self._zone).strftime("%Y-%m-%d %H:%M")
            if isinstance(value, datetime)
            else value
            for name, value in row.items()
        }


PARTS = ("events", "payments", "ledger", "refunds")
"""A reservation's detail beside the reservation itself."""


def actor(signed: StaffSession) -> str:
    """Who acted, as a reservation's audit trail and a refund record it (at most 80 chars)."""
    return f"console:{signed.account.email}"[:80]
