"""The console's Forecasts page: for a property and the next 7, 30 or 90 days, the occupancy
forecast with its 80% band, the bookings likeliest to cancel and the suggested nightly rates,
each with its chart (a ``data:`` image, the only kind the console's policy allows), a text
alternative stating its figures and a table of them. Answers being computed by job workers are
said so, with a link to reload. Admins see the model versions and promote or roll them back;
each press is in the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp import web

from channels.console import forms
from channels.console.access import Access, Audit, Handler, StaffSession, read_form
from channels.console.pages import PageRender, pressed

PATH = "/console/forecasts"
MODELS_PATH = f"{PATH}/models"


class ForecastBoard(Protocol):
    async def properties(self) -> list[dict[str, str]]:
        """The properties to forecast, each a ``slug`` and a ``name``, in the catalog's order."""
        ...

    async def forecasts(self, slug: str, days: int, locale: str) -> Mapping[str, Any] | None:
        """The page's values for the next ``days`` days, worded in ``locale``; None when no
        such property."""
        ...

    async def versions(self) -> Mapping[str, Any]: ...
    async def promote(self, version: str) -> str: ...
    async def roll_back(self, model: str) -> str: ...


class ForecastsRoom:
    def __init__(self, board: ForecastBoard, audit: Audit) -> None:
        self._board = board
        self._audit = audit

    def routes(self, page: PageRender) -> list[tuple[str, str, Handler, Access]]:
        async def forecasts(request: web.Request, signed: StaffSession) -> web.StreamResponse:
            properties = await self._board.properties()
            chosen, status, problem = forms.forecast_choice(request.query), 200, None
            if chosen is None:
                chosen, status, problem = forms.ForecastChoice(), 400, "invalid"
            slug = chosen.property or (properties[0]["slug"] if properties else None)
            found = None
            if slug is not None:
                found = await self._board.forecasts(slug, chosen.days, page.locale(request, signed))
            if found is None and chosen.property is not None:
                status, problem = 404, "unknown"
            values = {
                "properties": properties,
                "days_choices": forms.FORECAST_DAYS,
                "chosen": slug,
                "days": chosen.days,
                "forecast": found,
                "reload": f"{PATH}?{forms.ForecastChoice(slug, chosen.days).query()}",
            }
            if problem is not None:
                values["problem"] = problem
            return page.render(request, signed, "forecasts", values, status)

        async def versions(
            request: web.Request, signed: StaffSession, status: int = 200, **values: Any
        ) -> web.StreamResponse:
            listed = await self._board.versions()
            return page.render(request, signed, "forecast_models", {**listed, **values}, status)

        async def promote(request: web.Request, signed: StaffSession) -> web.StreamResponse:
            version = forms.model_version(await read_form(request) or {}, "version")
            if version is None:
                return await versions(request, signed, 400, problem="invalid")
            result = await self._board.promote(version)
            return await pressed(
                request, signed, versions, result, self._audit, "forecast_model", version,
                MODELS_PATH,
            )  # fmt: skip

        async def roll_back(request: web.Request, signed: StaffSession) -> web.StreamResponse:
            model = forms.model_version(await read_form(request) or {}, "model")
            if model is None:
                return await versions(request, signed, 400, problem="invalid")
            result = await self._board.roll_back(model)
            return await pressed(
                request, signed, versions, result, self._audit, "forecast_model", model,
                MODELS_PATH,
            )  # fmt: skip

        return [
            ("GET", PATH, forecasts, "staff"),
            ("GET", MODELS_PATH, versions, "admin"),
            ("POST", f"{MODELS_PATH}/promote", promote, "admin"),
            ("POST", f"{MODELS_PATH}/rollback", roll_back, "admin"),
        ]
