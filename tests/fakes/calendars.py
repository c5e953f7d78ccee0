"""A local iCal server: each feed a ``text/calendar`` document at ``/feeds/<name>.ics``, built
with ``icalendar`` as a city's or a venue's agenda publishes it (all-day and timed events, a
weekly recurrence, URLs). ``raw`` answers queue exact bodies for the next requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import icalendar
from aiohttp import web

from tests.fakes.base import FakeProvider


class FakeCalendars(FakeProvider):
    def __init__(self) -> None:
        super().__init__()
        self.feeds: dict[str, icalendar.Calendar] = {}
        self.raw: list[bytes] = []
        self.app.router.add_get("/feeds/{name}.ics", self._feed)

    def feed_url(self, name: str) -> str:
        return f"{self.url}/feeds/{name}.ics"

    def add(
        self,
        feed: str,
        summary: str,
        start: date | datetime,
        end: date | datetime | None = None,
        url: str | None = None,
        rrule: dict[str, Any] | None = None,
    ) -> None:
        calendar = self.feeds.setdefault(feed, _calendar(feed))
        event = icalendar.Event()
        event.add("uid", f"{feed}-{len(calendar.subcomponents)}@fake")
        event.add("summary", summary)
        event.add("dtstamp", datetime(2026, 11, 1, 12, 0))
        event.add("dtstart", start)
        if end is not None:
            event.add("dtend", end)
        if url is not None:
            event.add("url", url)
        if rrule is not None:
            event.add("rrule", rrule)
        calendar.add_component(event)

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        if self.raw:
            return web.Response(body=self.raw.pop(0), content_type="text/calendar")
        calendar = self.feeds.get(request.match_info["name"])
        if calendar is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=calendar.to_ical(), content_type="text/calendar", charset="utf-8")


def _calendar(name: str) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//fake agenda {name}//EN")
    calendar.add("version", "2.0")
    return calendar
