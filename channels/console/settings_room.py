"""The console's Settings page (admins): each setting the repo's files hold by default (rate
limits, experiments, each property's knowledge and price limits, alert routes), edited as its
YAML document. A document is checked by the code that uses it before it is saved (a refusal
names the field and keeps what was typed); a saved one applies in every worker without a
restart; Back to the default saves the repo's file back; each save is in the audit log and in
the page's history with its diff."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp import web

from channels.console import forms
from channels.console.access import Access, Handler, StaffSession, read_form
from channels.console.pages import HEADERS, PageRender

PATH = "/console/settings"


class SettingsBoard(Protocol):
    async def overview(self) -> list[Mapping[str, Any]]:
        """Each setting's ``name``, ``default_file`` and, when overridden, ``changed_by`` and
        ``changed_at``."""
        ...

    async def setting(self, name: str) -> Mapping[str, Any] | None:
        """The edit page's values (``document``, ``overridden``, ``history``...); None when no
        such setting."""
        ...

    async def save(self, name: str, document: str, actor: str, address: str | None) -> str | None:
        """None when saved; else why the document is refused, naming the field."""
        ...

    async def reset(self, name: str, actor: str, address: str | None) -> bool:
        """False when the setting already was the default."""
        ...


class SettingsRoom:
    def __init__(self, board: SettingsBoard) -> None:
        self._board = board

    def routes(self, page: PageRender) -> list[tuple[str, str, Handler, Access]]:
        async def overview(request: web.Request, signed: StaffSession) -> web.StreamResponse:
            values = {"settings": await self._board.overview()}
            return page.render(request, signed, "settings", values)

        async def found(request: web.Request) -> tuple[str, Mapping[str, Any]] | None:
            name = forms.setting_name(request.match_info["name"])
            values = await self._board.setting(name) if name is not None else None
            return (name, values) if name is not None and values is not None else None

        async def edit(request: web.Request, signed: StaffSession) -> web.StreamResponse:
            setting = await found(request)
            if setting is None:
                return page.render(request, signed, "setting_missing", {}, 404)
            saved = request.query.get("saved") == "1"
            return page.render(request, signed, "setting", {**setting[1], "saved": saved})

        async def change(request: web.Request, signed: StaffSession) -> web.StreamResponse:
            setting = await found(request)
            if setting is None:
                return page.render(request, signed, "setting_missing", {}, 404)
            name, values = setting
            form = await read_form(request) or {}
            actor, address = signed.account.email, request.remote
            if forms.field(form, "do", 10) == "reset":
                if not await self._board.reset(name, actor, address):
                    return page.render(
                        request, signed, "setting", {**values, "problem": "default"}, 409
                    )
                raise web.HTTPSeeOther(f"{PATH}/{name}?saved=1", headers=HEADERS)
            document = forms.setting_document(form)
            if document is None:
                unreadable = {**values, "problem": "unreadable"}
                return page.render(request, signed, "setting", unreadable, 400)
            refused = await self._board.save(name, document, actor, address)
            if refused is not None:
                typed = {**values, "document": document, "problem": "invalid", "reason": refused}
                return page.render(request, signed, "setting", typed, 400)
            raise web.HTTPSeeOther(f"{PATH}/{name}?saved=1", headers=HEADERS)

        return [
            ("GET", PATH, overview, "admin"),
            ("GET", f"{PATH}/{{name:.+}}", edit, "admin"),
            ("POST", f"{PATH}/{{name:.+}}", change, "admin"),
        ]
