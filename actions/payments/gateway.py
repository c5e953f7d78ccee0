"""The one interface every payment gateway implements, and what it answers with.

A gateway makes a payment link for a reservation, tells the truth about a payment by asking its
own API, refunds all or part of it, and verifies and reads its webhooks. Every call that moves
money carries an idempotency key of ours, so a retried call never charges or refunds twice.
"""

from __future__ import annotations

import json as jsonlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol, TypeVar

from actions.payments.metrics import PaymentMetrics
from bot.partners.client import PartnerApi, PartnerClient, PartnerError

PaymentState = Literal["pending", "paid", "failed", "expired"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LinkRequest:
    reservation_code: str
    amount: int
    currency: str
    description: str
    email: str
    expires_at: datetime
    """The hold's end: the gateway's link stops working then too."""
    return_url: str
    """Where the payer's browser comes back to (success, cancel and failure alike)."""
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class PaymentLink:
    reference: str
    url: str
    pix_code: str | None = None
    """Pix copy-and-paste code (Mercado Pago), sent in the chat with its QR code."""
    pix_qr_png: bytes | None = None


@dataclass(frozen=True, slots=True)
class PaymentStatus:
    """What the gateway's API says of a payment (never what a notification body claims)."""

    reference: str
    reservation_code: str | None
    state: PaymentState
    amount: int
    currency: str
    charge_reference: str | None = None
    refunded: int = 0
    receipt_url: str | None = None


@dataclass(frozen=True, slots=True)
class RefundResult:
    reference: str
    completed: bool


@dataclass(frozen=True, slots=True)
class Notice:
    """A verified webhook: its id (for deduplication) and the object to fetch."""

    event_id: str
    kind: str
    reference: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """A verified webhook about something we do not follow (answered 200, not stored)."""

    kind: str


class Gateway(Protocol):
    """A payment provider, and how the rest of the payments domain must treat it (what it says
    of itself, so that nothing outside the gateway modules asks for one by name)."""

    name: str
    takes_webhooks: bool
    """Whether the provider notifies us at ``/webhooks/payments/{name}``; a gateway that pays on
    our own page (the sandbox) answers that URL 404."""
    status_by_charge: bool
    """Whether ``status`` is asked with the payment's charge reference (Mercado Pago: the
    payment, since its preference has no state) rather than the link's reference."""
    return_parameter: str | None
    """The return URL's query parameter that names the payment (PayPal's ``token``, the order:
    asking its status captures it); None when the latest link of the reservation is asked."""
    keeps_own_books: bool
    """Whether what it holds is only in our database (the sandbox), so reconciliation has no
    second opinion to compare the ledger with."""

    async def create_link(self, request: LinkRequest) -> PaymentLink: ...

    async def status(self, reference: str) -> PaymentStatus:
        """The payment's truth; PayPal captures an approved order here."""

    async def refund(
        self, charge_reference: str, amount: int, currency: str, idempotency_key: str
    ) -> RefundResult: ...

    async def expire_link(self, reference: str, reservation_code: str) -> None:
        """Make an unpaid link unpayable where the gateway's API allows it (the reservation was
        paid another way); raises GatewayError when the gateway refuses (already paid)."""

    async def verify(self, headers: Mapping[str, str], body: bytes) -> Notice | Ignored:
        """Raises InvalidWebhook for a bad signature, a stale timestamp or a malformed body."""


class GatewayError(Exception):
    """The gateway refused or could not be reached after the retries."""

    def __init__(self, gateway: str, status: int | None, code: str | None = None) -> None:
        super().__init__(f"{gateway}: {status} {code or ''}".strip())
        self.status, self.code = status, code


class InvalidWebhook(Exception):
    """Unsigned, wrongly signed, replayed or malformed: answered 4xx, nothing changes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def status_lookup(
    gateway: Gateway | None, reference: str, charge_reference: str | None
) -> str | None:
    """The reference to ask ``gateway.status`` with for a payment we recorded; None when the
    gateway is not enabled (or the payment has no such reference yet)."""
    if gateway is None:
        return None
    return charge_reference if gateway.status_by_charge else reference


def to_decimal(amount: int) -> Decimal:
    """Minor units to the decimal amount REST APIs want (BRL, USD and EUR have two decimals)."""
    return (Decimal(amount) / 100).quantize(Decimal("0.01"))


def to_minor(amount: Decimal | float | str) -> int:
    return int((Decimal(str(amount)) * 100).to_integral_value())


@dataclass(frozen=True)
class Rest:
    """JSON over the partner client (``bot.partners``): its limits per gateway, its retries
    (only of calls that are safe to repeat), its breaker and its metrics. A refusal is a
    ``GatewayError`` with the gateway's own code; no answer (down, open circuit, over the
    limit) is one with no status."""

    gateway: str
    base_url: str
    metrics: PaymentMetrics
    partners: PartnerClient
    api: PartnerApi

    async def call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: object = None,
        data: Mapping[str, str] | None = None,
        safe_to_repeat: bool = False,
        error_code: Callable[[object], str | None] = lambda body: None,
    ) -> dict[str, object]:
        """``safe_to_repeat``: the call carries the gateway's idempotency key or only reads, so
        a POST may be retried too (other methods are retried when idempotent)."""

        async def once() -> dict[str, object]:
            answer = await partner_call(
                self.gateway,
                self.partners.call(
                    self.api,
                    method,
                    self.base_url + path,
                    headers=headers,
                    json=json,
                    data=data,
                    safe_to_repeat=safe_to_repeat,
                ),
            )
            try:
                body = jsonlib.loads(answer.body) if answer.body.strip() else {}
            except ValueError:
                raise GatewayError(self.gateway, answer.status, "malformed") from None
            if answer.status >= 400:
                raise GatewayError(self.gateway, answer.status, error_code(body))
            return body if isinstance(body, dict) else {"items": body}

        return await timed(self.metrics, self.gateway, operation, once)


async def partner_call(gateway: str, call: Awaitable[T]) -> T:
    """A call through the partner client, its ``PartnerError`` (no answer: the gateway is
    down, its circuit open, or over our limit) as the gateway's ``GatewayError``."""
    try:
        return await call
    except PartnerError as error:
        raise GatewayError(gateway, None, error.failure) from None


async def timed(
    metrics: PaymentMetrics, gateway: str, operation: str, call: Callable[[], Awaitable[T]]
) -> T:
    """Run a gateway call, observing how long it took (retries included) whatever the end."""
    started = time.perf_counter()
    try:
        return await call()
    finally:
        metrics.gateway_seconds.labels(gateway, operation).observe(time.perf_counter() - started)
