"""The console's pages: sign-in and out, the password page, Today (live over Server-Sent
Events) and, for admins, the staff accounts and the audit log. Other rooms of the console
(``alerts.py``, ``conversations.py``) are handed in and mounted through the same gate.

Pages are ``prompts/console/*.j2``, rendered autoescaped in the staff member's language (their
choice, else the browser's); the only script is ``static/console.js`` (the live parts), and
the Content-Security-Policy allows nothing else. Every route but the sign-in page and the static
files goes through ``Gate.guard``: ``ROUTES`` lists each with the access it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import structlog
from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.core.locales import SUPPORTED_LOCALES
from bot.core.render import Renderer
from bot.core.types import Outcome
from bot.edge.limits import EdgeLimiter
from channels.console import forms
from channels.console.access import (
    LOGIN_PATH,
    Access,
    Audit,
    Gate,
    Handler,
    StaffDirectory,
    StaffSession,
    minutes,
    read_form,
    set_session_cookie,
)
from channels.console.settings import ConsoleSettings
from channels.origin import same_site

log = structlog.get_logger("rsv360.console")

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"console.css": "text/css", "console.js": "text/javascript"}
LOGIN_FORM_SALT = "rsv360-console-login"
LOGIN_FORM_MAX_AGE = 3600
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


class PageRender(Protocol):
    """What a room of the console renders its pages with (the console itself)."""

    def render(
        self,
        request: web.Request,
        signed: StaffSession | None,
        template: str,
        values: Mapping[str, Any],
        status: int = 200,
    ) -> web.Response: ...

    def locale(self, request: web.Request, signed: StaffSession | None) -> str: ...

    def fragment(self, template: str, values: Mapping[str, Any], locale: str) -> str: ...

    async def stream(
        self, request: web.Request, signed: StaffSession, event: str, fragment: Fragment
    ) -> web.StreamResponse: ...

    @property
    def live_seconds(self) -> float: ...


Fragment = Callable[[str], Awaitable[str]]
"""A live part of a page rendered in a locale, as a stream sends it."""


class Room(Protocol):
    """A group of pages beside the console's own (Alerts, ...), behind the same gate."""

    def routes(self, page: PageRender) -> list[tuple[str, str, Handler, Access]]: ...


PRESS_REFUSALS = {
    "unknown": 404,
    "already": 409,
    "decided": 409,
    "impossible": 409,
    "unreachable": 409,
    "nothing_earlier": 409,
    "unfit": 409,
    "gateway": 503,
}
"""A press's results that change nothing: no such thing, decided by someone else first, not
possible in its state, nothing to go back to, a thing that cannot be used (a model version that
does not load), a guest whose channel cannot be written to, a partner that is down."""


async def pressed(
    request: web.Request,
    signed: StaffSession,
    again: Callable[..., Awaitable[web.StreamResponse]],
    result: str,
    audit: Audit,
    action: str,
    subject: str,
    back: str,
    **details: Any,
) -> web.StreamResponse:
    """The answer to a button pressed on a page: a refusal shows the page ``again`` with its
    problem (``result``); anything done is audited as ``{action}_{result}``, then back."""
    status = PRESS_REFUSALS.get(result)
    if status is not None:
        return await again(request, signed, status, problem=result)
    await audit(signed.account.email, f"{action}_{result}", subject, request.remote, **details)
    raise web.HTTPSeeOther(back, headers=HEADERS)


class TodayFigures(Protocol):
    """The Today page's figures, as its templates' values."""

    async def values(self) -> Mapping[str, Any]: ...


class Console:
    def __init__(
        self,
        directory: StaffDirectory,
        today: TodayFigures,
        renderer: Renderer,
        settings: ConsoleSettings,
        *,
        secret: str,
        secure_cookie: bool,
        edges: EdgeLimiter | None = None,
        rooms: Sequence[Room] = (),
    ) -> None:
        self._directory = directory
        self._rooms = rooms
        self._today = today
        self._renderer = renderer
        self._live_seconds = settings.live_seconds
        self._secure = secure_cookie
        self._login_forms = URLSafeTimedSerializer(secret, salt=LOGIN_FORM_SALT)
        self.gate = Gate(
            directory,
            edges,
            timedelta(minutes=settings.idle_minutes),
            timedelta(hours=settings.absolute_hours),
            self._refusal,
        )

    def routes(self) -> list[tuple[str, str, Handler, Access]]:
        return [
            ("GET", "/console", self._home, "staff"),
            ("GET", "/console/today", self._today_page, "staff"),
            ("GET", "/console/today/stream", self._today_stream, "staff"),
            ("GET", "/console/password", self._password_page, "staff"),
            ("POST", "/console/password", self._change_password, "staff"),
            ("POST", "/console/language", self._language, "staff"),
            ("POST", "/console/logout", self._logout, "staff"),
            ("POST", "/console/logout-everywhere", self._logout_everywhere, "staff"),
            ("GET", "/console/staff", self._staff_page, "admin"),
            ("POST", "/console/staff/add", self._add_account, "admin"),
            ("POST", "/console/staff/disable", self._disable_account, "admin"),
            ("POST", "/console/staff/reset", self._reset_password, "admin"),
            ("POST", "/console/staff/link", self._link_identity, "admin"),
            *(route for room in self._rooms for route in room.routes(self)),
        ]

    def mount(self, app: web.Application) -> None:
        app.router.add_get(LOGIN_PATH, self._login_page)
        app.router.add_post(LOGIN_PATH, self._login)
        app.router.add_get("/console/static/{name}", self._static)
        for method, path, handler, access in self.routes():
            app.router.add_route(method, path, self.gate.guard(handler, access))

    # -- signing in and out --

    async def _login_page(self, request: web.Request) -> web.StreamResponse:
        if await self.gate.signed_in(request) is not None:
            raise web.HTTPSeeOther("/console/today", headers=HEADERS)
        return self._login_form(request)

    def _login_form(
        self, request: web.Request, status: int = 200, **values: Any
    ) -> web.StreamResponse:
        token = self._login_forms.dumps(secrets.token_urlsafe(8))
        return self.render(
            request, None, "login", {"form_token": token, "email": "", **values}, status
        )

    async def _login(self, request: web.Request) -> web.StreamResponse:
        form = await read_form(request)
        login = forms.login(form) if form is not None else None
        address = request.remote
        if login is None or not same_site(request) or not self._fresh(login.form_token):
            return self._login_form(request, 400, problem="invalid")
        wait = await self.gate.locked_out(login.email, address)
        if wait is not None:
            await self._directory.record(login.email, "sign_in_locked", login.email, address)
            return self._login_form(
                request, 429, problem="locked", minutes=minutes(wait), email=login.email
            )
        account = await self._directory.authenticate(login.email, login.password)
        if account is None:
            await self.gate.failed(login.email, address)
            await self._directory.record(login.email, "sign_in_failed", login.email, address)
            return self._login_form(request, 401, problem="wrong", email=login.email)
        token = await self._directory.start_session(account, address)
        response = web.HTTPSeeOther("/console/today", headers=HEADERS)
        set_session_cookie(response, token, self._secure)
        raise response

    def _fresh(self, form_token: str) -> bool:
        try:
            self._login_forms.loads(form_token, max_age=LOGIN_FORM_MAX_AGE)
        except BadSignature:
            return False
        return True

    async def _logout(self, request: web.Request, signed: StaffSession) -> web.StreamResponse:
        token = forms.session_token(request.headers.get("Cookie"))
        if token is not None:
            await self._directory.end_session(token, signed.account.email, request.remote)
        return self._signed_out()

    async def _logout_everywhere(
        self, request: web.Request, signed: StaffSession
    ) -> web.StreamResponse:
        await self._directory.end_all_sessions(signed.account, request.remote)
        return self._signed_out()

    def _signed_out(self) -> web.StreamResponse:
        response = web.HTTPSeeOther(LOGIN_PATH, headers=HEADERS)
        response.del_cookie(forms.COOKIE, path="/console")
        raise response

    async def _password_page(
        self, request: web.Request, signed: StaffSession, status: int = 200, **values: Any
    ) -> web.StreamResponse:
        return self.render(request, signed, "password", values, status)

    async def _change_password(
        self, request: web.Request, signed: StaffSession
    ) -> web.StreamResponse:
        password = forms.new_password(await read_form(request) or {})
        if password is None:
            return await self._password_page(request, signed, 400, problem="invalid")
        await self._directory.change_password(signed.account.id, password, request.remote)
        raise web.HTTPSeeOther("/console/today", headers=HEADERS)

    async def _language(self, request: web.Request, signed: StaffSession) -> web.StreamResponse:
        form = await read_form(request) or {}
        chosen = forms.field(form, "locale", 8)
        if chosen in SUPPORTED_LOCALES:
            await self._directory.set_locale(signed.account.id, chosen)
        back = forms.field(form, "back", 100) or ""
        raise web.HTTPSeeOther(back if _own_page(back) else "/console/today", headers=HEADERS)

    # -- Today --

    async def _home(self, _: web.Request, __: StaffSession) -> web.StreamResponse:
        raise web.HTTPSeeOther("/console/today", headers=HEADERS)

    async def _today_page(self, request: web.Request, signed: StaffSession) -> web.StreamResponse:
        values = {**await self._today.values(), "live_seconds": self._live_seconds}
        return self.render(request, signed, "today", values)

    async def _today_stream(self, request: web.Request, signed: StaffSession) -> web.StreamResponse:
        async def figures(locale: str) -> str:
            return self.fragment("today_figures", await self._today.values(), locale)

        return await self.stream(request, signed, "figures", figures)

    @property
    def live_seconds(self) -> float:
        return self._live_seconds

    async def stream(
        self, request: web.Request, signed: StaffSession, event: str, fragment: Fragment
    ) -> web.StreamResponse:
        """The fragment as one ``event`` every ``live_seconds`` while the session lives."""
        locale = self.locale(request, signed)
        response = web.StreamResponse(
            headers={
                **HEADERS,
                "Content-Type": "text/event-stream; charset=utf-8",
                "X-Accel-Buffering": "no",  # nginx would hold the events back
            }
        )
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):
            while True:
                html = await fragment(locale)
                data = "".join(f"data: {line}\n" for line in html.splitlines())
                await response.write(f"event: {event}\n{data}\n".encode())
                await asyncio.sleep(self._live_seconds)
                if await self.gate.signed_in(request) is None:
                    await response.write(b"event: signed-out\ndata: -\n\n")
                    break
        return response

    # -- staff accounts (admins) --

    async def _staff_page(
        self, request: web.Request, signed: StaffSession, status: int = 200, **values: Any
    ) -> web.StreamResponse:
        accounts = await self._directory.accounts()
        audit = await self._directory.audit_log(50)
        return self.render(
            request, signed, "staff", {"accounts": accounts, "audit": audit, **values}, status
        )

    async def _add_account(self, request: web.Request, signed: StaffSession) -> web.StreamResponse:
        form = await read_form(request) or {}
        email, role = (
            forms.email(forms.field(form, "email", forms.MAX_EMAIL_CHARS)),
            forms.role(form),
        )
        if email is None or role is None:
            return await self._staff_page(request, signed, 400, problem="invalid")
        try:
            password = await self._directory.add(email, role, signed.account.email)
        except ValueError:
            return await self._staff_page(request, signed, 409, problem="exists")
        return await self._staff_page(
            request, signed, one_time={"email": email, "password": password}
        )

    async def _disable_account(
        self, request: web.Request, signed: StaffSession
    ) -> web.StreamResponse:
        email = forms.email(forms.field(await read_form(request) or {}, "email", 254))
        if email is None or email == signed.account.email:
            return await self._staff_page(request, signed, 400, problem="invalid")
        try:
            await self._directory.disable(email, signed.account.email)
        except LookupError:
            return await self._staff_page(request, signed, 404, problem="unknown")
        raise web.HTTPSeeOther("/console/staff", headers=HEADERS)

    async def _reset_password(
        self, request: web.Request, signed: StaffSession
    ) -> web.StreamResponse:
        email = forms.email(forms.field(await read_form(request) or {}, "email", 254))
        if email is None:
            return await self._staff_page(request, signed, 400, problem="invalid")
        try:
            password = await self._directory.reset_password(email, signed.account.email)
        except LookupError:
            return await self._staff_page(request, signed, 404, problem="unknown")
        return await self._staff_page(
            request, signed, one_time={"email": email, "password": password}
        )

    async def _link_identity(
        self, request: web.Request, signed: StaffSession
    ) -> web.StreamResponse:
        form = await read_form(request) or {}
        email, identity = forms.email(forms.field(form, "email", 254)), forms.identity(form)
        if email is None or identity is None:
            return await self._staff_page(request, signed, 400, problem="invalid")
        try:
            await self._directory.link(email, identity, signed.account.email)
        except LookupError:
            return await self._staff_page(request, signed, 404, problem="unknown")
        except ValueError:
            return await self._staff_page(request, signed, 400, problem="invalid")
        raise web.HTTPSeeOther("/console/staff", headers=HEADERS)

    # -- rendering --

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.FileResponse(
            STATIC / name,
            headers={
                "Content-Type": f"{STATIC_FILES[name]}; charset=utf-8",
                "Cache-Control": "max-age=300",
                "X-Content-Type-Options": "nosniff",
            },
        )

    def _refusal(self, request: web.Request, status: int, template: str) -> web.StreamResponse:
        if template == "login":
            return self._login_form(request, status, problem="signed_out")
        return self.render(request, None, template, {}, status)

    def fragment(self, template: str, values: Mapping[str, Any], locale: str) -> str:
        """A part of a page (``console/<template>``), as a live stream sends it."""
        return self._renderer.render(Outcome(f"console/{template}", values), locale, "html").text

    def locale(self, request: web.Request, signed: StaffSession | None) -> str:
        chosen = signed.account.locale if signed is not None else None
        if chosen in SUPPORTED_LOCALES:
            return str(chosen)
        header = request.headers.get("Accept-Language", "")
        return self._renderer.locale_for(header.split(",")[0].split(";")[0].strip()[:35] or None)

    def render(
        self,
        request: web.Request,
        signed: StaffSession | None,
        template: str,
        values: Mapping[str, Any],
        status: int = 200,
    ) -> web.Response:
        locale = self.locale(request, signed)
        page = self._renderer.render(
            Outcome(
                f"console/{template}",
                {
                    **values,
                    "staff": signed.account if signed is not None else None,
                    "csrf": signed.csrf_token if signed is not None else "",
                    "path": request.path,
                    "locales": SUPPORTED_LOCALES,
                },
            ),
            locale,
            "html",
        )
        return web.Response(
            text=page.text + "\n",
            status=status,
            content_type="text/html",
            charset="utf-8",
            headers=HEADERS,
        )


def _own_page(path: str) -> bool:
    """A console page to return to, never another site (``//evil.example`` included)."""
    return path.startswith("/console") and not path.startswith("//") and "\\" not in path
