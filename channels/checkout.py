"""The sandbox payment gateway's pages: a checkout page per payment link, pay or a simulated
failure, and the result.

``GET /checkout/sandbox/{token}`` shows the reservation and two forms, ``POST …/pay`` and
``POST …/fail``; both answer ``303`` to ``GET …/result``. The token is the signed link of
``actions.payments.sandbox``; what it is worth is up to a ``PaymentDesk`` that the composition
root passes in (this room does not know reservations). Pages are ``prompts/checkout/*.j2``,
rendered autoescaped in the reservation's locale, with no external resource.

A POST must carry the form token of a page of the same link (signed, with a nonce: a repeated
submission of one page does nothing twice) and must not come from another site (``Origin``,
``Referer`` and ``Sec-Fetch-Site``, when the browser sends them).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

import structlog
from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.core.render import Renderer
from bot.core.types import Outcome
from bot.steps.dedupe import DedupeStore
from channels.origin import same_site

log = structlog.get_logger("rsv360.checkout")

PREFIX = "/checkout/sandbox"
STYLESHEET = "/checkout/static/checkout.css"
STATIC = Path(__file__).resolve().parent / "static"
FORM_SALT = "rsv360-checkout-form"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


class CheckoutView(Protocol):
    """What a payment link is for now, as the pages need it: ``status`` is ``payable``,
    ``paid``, ``expired`` or ``closed``; ``values`` are the pages' template values."""

    @property
    def status(self) -> str: ...

    @property
    def locale(self) -> str: ...

    @property
    def values(self) -> Mapping[str, Any]: ...


class PaymentDesk(Protocol):
    """The reservation side of the sandbox gateway; None for a link that names nothing."""

    async def checkout(self, token: str) -> CheckoutView | None: ...

    async def pay(self, token: str) -> CheckoutView | None:
        """Take the payment (once however often it is asked) and tell the guest's chat."""

    async def decline(self, token: str) -> CheckoutView | None:
        """Simulate a declined card: record it and tell the guest's chat while it is payable."""


class CheckoutPages:
    def __init__(
        self,
        desk: PaymentDesk,
        renderer: Renderer,
        dedupe: DedupeStore,
        *,
        secret: str,
        form_max_age: int,
    ) -> None:
        self._desk = desk
        self._renderer = renderer
        self._dedupe = dedupe
        self._forms = URLSafeTimedSerializer(secret, salt=FORM_SALT)
        self._form_max_age = form_max_age

    def mount(self, app: web.Application) -> None:
        app.router.add_get(PREFIX + "/{token}", self._page)
        app.router.add_post(PREFIX + "/{token}/pay", self._pay)
        app.router.add_post(PREFIX + "/{token}/fail", self._fail)
        app.router.add_get(PREFIX + "/{token}/result", self._result)
        app.router.add_get(STYLESHEET, self._stylesheet)

    async def _page(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        checkout = await self._desk.checkout(token)
        if checkout is None:
            return self._not_found(request)
        if checkout.status != "payable":
            return self._render("result", checkout.locale, checkout.values, status=checkout.status)
        return self._render(
            "pay",
            checkout.locale,
            checkout.values,
            form=self._forms.dumps({"l": _digest(token), "n": uuid.uuid4().hex}),
            pay_url=f"{PREFIX}/{token}/pay",
            fail_url=f"{PREFIX}/{token}/fail",
        )

    async def _pay(self, request: web.Request) -> web.Response:
        return await self._submit(request, "pay")

    async def _fail(self, request: web.Request) -> web.Response:
        return await self._submit(request, "fail")

    async def _submit(self, request: web.Request, action: Literal["pay", "fail"]) -> web.Response:
        token = request.match_info["token"]
        nonce = await self._form_nonce(request, token)
        if nonce is None or not same_site(request):
            log.warning("checkout_refused", action=action)
            return self._page_for_error(request, "refused", 403)
        # The result page shows the reservation's state; "failed" only while it is payable.
        result = f"{PREFIX}/{token}/result" + ("?status=failed" if action == "fail" else "")
        if not await self._dedupe.first_seen(
            f"checkout:{_digest(token)}", f"{action}:{nonce}", self._form_max_age
        ):
            raise web.HTTPSeeOther(result, headers=HEADERS)  # the same form sent again
        checkout = await (self._desk.pay(token) if action == "pay" else self._desk.decline(token))
        if checkout is None:
            return self._not_found(request)
        raise web.HTTPSeeOther(result, headers=HEADERS)

    async def _result(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        checkout = await self._desk.checkout(token)
        if checkout is None:
            return self._not_found(request)
        status: str = checkout.status
        if status == "payable":
            if request.query.get("status") != "failed":
                raise web.HTTPSeeOther(f"{PREFIX}/{token}", headers=HEADERS)
            status = "failed"
        return self._render(
            "result", checkout.locale, checkout.values, status=status, page_url=f"{PREFIX}/{token}"
        )

    async def _stylesheet(self, _: web.Request) -> web.FileResponse:
        return web.FileResponse(
            STATIC / "checkout.css",
            headers={"Content-Type": "text/css; charset=utf-8", "Cache-Control": "max-age=3600"},
        )

    async def _form_nonce(self, request: web.Request, token: str) -> str | None:
        """The nonce of a form this server rendered for this very link; None otherwise."""
        form = (await request.post()).get("form")
        if not isinstance(form, str):
            return None
        try:
            claims = self._forms.loads(form, max_age=self._form_max_age)
        except BadSignature:
            return None
        if not isinstance(claims, dict) or claims.get("l") != _digest(token):
            return None
        nonce = claims.get("n")
        return nonce if isinstance(nonce, str) else None

    def _not_found(self, request: web.Request) -> web.Response:
        return self._page_for_error(request, "not_found", 404)

    def _page_for_error(self, request: web.Request, template: str, status: int) -> web.Response:
        locale = self._renderer.locale_for(_first_language(request))
        return self._render(template, locale, {}, http_status=status)

    def _render(
        self,
        template: str,
        locale: str,
        values: Mapping[str, Any],
        http_status: int = 200,
        **extra: Any,
    ) -> web.Response:
        page = self._renderer.render(
            Outcome(f"checkout/{template}", {**values, **extra, "stylesheet": STYLESHEET}),
            locale,
            "html",
        )
        return web.Response(
            text=page.text + "\n",
            status=http_status,
            content_type="text/html",
            charset="utf-8",
            headers=HEADERS,
        )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _first_language(request: web.Request) -> str | None:
    header = request.headers.get("Accept-Language", "")
    first = header.split(",")[0].split(";")[0].strip()
    return first[:35] or None
