"""The console's Refunds and payments page: the refunds waiting for a decision (approve, or deny
with a reason the guest reads), the ledger with filters and its CSV export, and what the last
reconciliation with the gateways found. Decisions go through the same desk as the chat buttons
and ``/admin/refunds``, and each is in the audit log."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from aiohttp import web

from channels.console import forms
from channels.console.access import Access, Audit, Handler, StaffSession, read_form
from channels.console.pages import HEADERS, PageRender, pressed
from channels.payment_admin import RefundDesk

PATH = "/console/refunds"
PAGE_ROWS = 100
CSV_MAX_ROWS = 100_000
CSV_COLUMNS = ("at", "reservation", "kind", "gateway", "reference", "amount", "currency")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class MoneyDesk(RefundDesk, Protocol):
    async def ledger(
        self,
        *,
        gateway: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        reservation: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[dict[str, Any]]: ...

    async def last_reconciliation(self) -> Mapping[str, Any] | None: ...


class MoneyRoom:
    def __init__(self, desk: MoneyDesk, audit: Audit, timezone: str) -> None:
        self._desk = desk
        self._audit = audit
        self._zone = ZoneInfo(timezone)

    def routes(self, page: PageRender) -> list[tuple[str, str, Handler, Access]]:
        async def overview(
            request: web.Request, signed: StaffSession, status: int = 200, **values: Any
        ) -> web.StreamResponse:
            chosen = forms.ledger_filter(request.query)
            if chosen is None:
                chosen, status, values = forms.LedgerFilter(), 400, {"problem": "filter"}
            rows = await self._rows(chosen, (chosen.page - 1) * PAGE_ROWS, PAGE_ROWS + 1)
            last = await self._desk.last_reconciliation()
            return page.render(
                request,
                signed,
                "refunds",
                {
                    "refunds": await self._desk.pending_refunds(),
                    "ledger": [self._local(row) for row in rows[:PAGE_ROWS]],
                    "more": len(rows) > PAGE_ROWS,
                    "filter": chosen,
                    "reconciliation": self._local(dict(last)) if last else None,
                    **values,
                },
                status,
            )

        async def export(request: web.Request, signed: StaffSession) -> web.StreamResponse:
            chosen = forms.ledger_filter(request.query)
            if chosen is None:
                return await overview(request, signed)
            rows = await self._rows(chosen, 0, CSV_MAX_ROWS)
            await self._audit(
                signed.account.email, "ledger_exported", chosen.query(), request.remote,
                rows=len(rows),
            )  # fmt: skip
            return web.Response(
                body=ledger_csv(rows, self._zone).encode("utf-8-sig"),  # Excel reads the BOM
                headers={
                    **HEADERS,
                    "Content-Type": "text/csv; charset=utf-8",
                    "Content-Disposition": 'attachment; filename="ledger.csv"',
                },
            )

        async def approve(request: web.Request, signed: StaffSession) -> web.StreamResponse:
            refund_id = forms.number(await read_form(request) or {}, "refund")
            if refund_id is None:
                return await overview(request, signed, 400, problem="invalid")
            result = await self._desk.approve_refund(refund_id, decider(signed))
            return await pressed(
                request, signed, overview, result, self._audit, "refund", str(refund_id), PATH
            )

        async def deny(request: web.Request, signed: StaffSession) -> web.StreamResponse:
            form = await read_form(request) or {}
            refund_id, reason = forms.number(form, "refund"), forms.reason(form)
            if refund_id is None or reason is None:
                return await overview(request, signed, 400, problem="reason")
            result = await self._desk.deny_refund(refund_id, decider(signed), reason)
            return await pressed(
                request, signed, overview, result, self._audit, "refund", str(refund_id), PATH
            )

        return [
            ("GET", PATH, overview, "staff"),
            ("GET", f"{PATH}/ledger.csv", export, "staff"),
            ("POST", f"{PATH}/approve", approve, "staff"),
            ("POST", f"{PATH}/deny", deny, "staff"),
        ]

    async def _rows(
        self, chosen: forms.LedgerFilter, offset: int, limit: int
    ) -> list[dict[str, Any]]:
        return await self._desk.ledger(
            gateway=chosen.gateway,
            kind=chosen.kind,
            since=self._start(chosen.since),
            until=self._start(chosen.until + timedelta(days=1)) if chosen.until else None,
            reservation=chosen.reservation,
            offset=offset,
            limit=limit,
        )

    def _start(self, day: date | None) -> datetime | None:
        """The moment the hotel's ``day`` begins, in UTC."""
        if day is None:
            return None
        return datetime.combine(day, time(), self._zone).astimezone(UTC)

    def _local(self, row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "at": row["at"].astimezone(self._zone).strftime("%Y-%m-%d %H:%M")}


def decider(signed: StaffSession) -> str:
    """Who decided, as the refund records it (at most 80 characters)."""
    return f"console:{signed.account.email}"[:80]


def ledger_csv(rows: Sequence[Mapping[str, Any]], zone: ZoneInfo) -> str:
    """The rows as CSV (amounts in minor units, times in the hotel's zone with their offset);
    a text cell that a spreadsheet would read as a formula is quoted with a leading '."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row["at"].astimezone(zone).isoformat(timespec="seconds"),
                *(
                    _cell(str(row[name]))
                    for name in ("reservation", "kind", "gateway", "reference")
                ),
                row["amount"],
                _cell(str(row["currency"])),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text
