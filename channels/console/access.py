"""Who may open a console page: the session cookie, its expiry, the role a page needs, the CSRF
token of every state-changing request, and the lockout after failed sign-ins.

The staff directory (accounts, sessions, the audit log) is passed in by the composition root as
a ``StaffDirectory``; this room only knows its shape.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal, Protocol

from aiohttp import web

from bot.edge.limits import EdgeLimiter, key_identity, subject
from channels.console import forms
from channels.origin import same_site

Access = Literal["staff", "admin"]
ACCOUNT_FAILURES = "console_failure_account"
ADDRESS_FAILURES = "console_failure_address"
"""The edges of the rate-limits file that count failed sign-ins (``bot/ratelimits.yaml``)."""
LOGIN_PATH = "/console/login"
PASSWORD_PATH = "/console/password"
ALLOWED_BEFORE_PASSWORD = frozenset({PASSWORD_PATH, "/console/logout"})
"""What a one-time password opens: the page that replaces it, and signing out."""


class StaffMember(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def email(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def locale(self) -> str | None: ...
    @property
    def must_change_password(self) -> bool: ...


class StaffSession(Protocol):
    @property
    def account(self) -> StaffMember: ...
    @property
    def csrf_token(self) -> str: ...


class StaffDirectory(Protocol):
    """Accounts, sessions and the audit log. ``add``, ``disable``, ``reset_password`` and
    ``link`` raise ``ValueError`` for an e-mail taken and ``LookupError`` for one unknown."""

    async def authenticate(self, email: str, password: str) -> StaffMember | None: ...
    async def start_session(self, account: Any, address: str | None) -> str: ...
    async def session(
        self, token: str, idle: timedelta, absolute: timedelta
    ) -> StaffSession | None: ...
    async def end_session(self, token: str, actor: str, address: str | None) -> None: ...
    async def end_all_sessions(self, account: Any, address: str | None) -> int: ...
    async def change_password(
        self, account_id: int, password: str, address: str | None
    ) -> None: ...
    async def set_locale(self, account_id: int, locale: str) -> None: ...
    async def record(
        self, actor: str, action: str, subject: str, address: str | None, **details: Any
    ) -> None: ...
    async def accounts(self) -> Sequence[Any]: ...
    async def add(self, email: str, role: Any, actor: str) -> str: ...
    async def disable(self, email: str, actor: str) -> None: ...
    async def reset_password(self, email: str, actor: str) -> str: ...
    async def link(self, email: str, identity: str, actor: str) -> None: ...
    async def audit_log(self, limit: int = 50) -> Sequence[Any]: ...


Handler = Callable[[web.Request, StaffSession], Awaitable[web.StreamResponse]]
Audit = Callable[..., Awaitable[None]]
"""The audit log's ``record(actor, action, subject, address, **details)``."""
Refusal = Callable[[web.Request, int, str], web.StreamResponse]
"""Renders the page for a refused request: (request, HTTP status, template)."""


class Gate:
    def __init__(
        self,
        directory: StaffDirectory,
        edges: EdgeLimiter | None,
        idle: timedelta,
        absolute: timedelta,
        refuse: Refusal,
    ) -> None:
        self._directory = directory
        self._edges = edges
        self._idle = idle
        self._absolute = absolute
        self._refuse = refuse

    def guard(self, handler: Handler, access: Access) -> Callable[..., Awaitable[Any]]:
        async def guarded(request: web.Request) -> web.StreamResponse:
            signed = await self.signed_in(request)
            if signed is None:
                if request.method == "GET" and "text/event-stream" not in request.headers.get(
                    "Accept", ""
                ):
                    raise web.HTTPSeeOther(LOGIN_PATH)
                return self._refuse(request, 401, "login")
            if access == "admin" and signed.account.role != "admin":
                return self._refuse(request, 403, "forbidden")
            if request.method != "GET" and not await self._genuine(request, signed):
                return self._refuse(request, 403, "refused")
            if signed.account.must_change_password and request.path not in ALLOWED_BEFORE_PASSWORD:
                if request.method == "GET":
                    raise web.HTTPSeeOther(PASSWORD_PATH)
                return self._refuse(request, 403, "forbidden")
            return await handler(request, signed)

        return guarded

    async def signed_in(self, request: web.Request) -> StaffSession | None:
        token = forms.session_token(request.headers.get("Cookie"))
        if token is None:
            return None
        return await self._directory.session(token, self._idle, self._absolute)

    async def _genuine(self, request: web.Request, signed: StaffSession) -> bool:
        """A state-changing request from one of our own pages: same site, right CSRF token."""
        form = await read_form(request)
        given = forms.csrf(form or {}, request.headers.get("X-CSRF-Token"))
        if (
            same_site(request)
            and given is not None
            and hmac.compare_digest(given.encode(), signed.csrf_token.encode())
        ):
            return True
        email = signed.account.email
        await self._directory.record(email, "csrf_refused", request.path, request.remote)
        return False

    async def locked_out(self, email: str, address: str | None) -> float | None:
        """Seconds until a sign-in may be tried again, when the account or the address has
        failed too often; None when it may be tried now."""
        if self._edges is None:
            return None
        for edge, who in ((ACCOUNT_FAILURES, key_identity(email)), (ADDRESS_FAILURES, address)):
            decision = await self._edges.check(
                edge, subject(who) if edge == ADDRESS_FAILURES else who
            )
            if not decision.allowed:
                return max(decision.retry_after, 1.0)
        return None

    async def failed(self, email: str, address: str | None) -> None:
        if self._edges is not None:
            await self._edges.hit(ACCOUNT_FAILURES, key_identity(email))
            await self._edges.hit(ADDRESS_FAILURES, subject(address))


async def read_form(request: web.Request) -> Mapping[str, object] | None:
    """The request's urlencoded or multipart form; None when it cannot be read (bad encoding,
    too large)."""
    try:
        return await request.post()
    except (ValueError, UnicodeDecodeError, web.HTTPException):
        return None


def minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def set_session_cookie(response: web.StreamResponse, token: str, secure: bool) -> None:
    """The session cookie: the browser's only copy of the token, out of scripts' reach. It
    carries no expiry: the session ends on the server (idle, absolute, sign-out)."""
    response.set_cookie(
        forms.COOKIE, token, path="/console", httponly=True, secure=secure, samesite="Lax"
    )
