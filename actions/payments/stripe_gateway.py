"""Stripe: a Checkout Session per payment link, refunds of its payment intent, signed webhooks.

Only the SDK's ``*_async`` calls on a ``StripeClient``: the sync ones would block the loop. The
SDK builds and reads Stripe's requests; its HTTP goes through the partner client
(``PartnerHttp``, the SDK's documented way to bring one's own HTTP client), which limits,
retries, breaks and measures it; the SDK's own retries are off. Every POST the SDK sends carries
an ``Idempotency-Key`` (ours where we give one, its own otherwise), so a retried POST creates or
refunds once. Stripe requires a session to live at least 30 minutes, longer than a
short hold: a payment that arrives after the hold is refunded by the payment service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from actions.payments.gateway import (
    GatewayError,
    Ignored,
    InvalidWebhook,
    LinkRequest,
    Notice,
    PaymentLink,
    PaymentState,
    PaymentStatus,
    RefundResult,
    partner_call,
    timed,
)
from actions.payments.metrics import PaymentMetrics
from bot.core.clock import Now
from bot.edge.json_body import MalformedJson, at, identifier, json_object
from bot.partners.client import PartnerApi, PartnerClient

MIN_SESSION_SECONDS = 30 * 60 + 60
FOLLOWED = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}


class StripeGateway:
    name = "stripe"
    takes_webhooks = True
    status_by_charge = False
    return_parameter: str | None = None
    keeps_own_books = False

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        metrics: PaymentMetrics,
        partners: PartnerClient,
        *,
        api_base: str = "https://api.stripe.com",
        now: Now,
        tolerance_seconds: int = 300,
        retries: int = 2,
        timeout_seconds: float = 10.0,
    ) -> None:
        api = partners.api(self.name, self.name, timeout_seconds=timeout_seconds, retries=retries)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=PartnerHttp(partners, api),
            max_network_retries=0,  # the partner client retries, once
        )
        self._secret = webhook_secret
        self._tolerance = tolerance_seconds
        self._now = now
        self._metrics = metrics

    async def create_link(self, request: LinkRequest) -> PaymentLink:
        expires_at = max(
            int(request.expires_at.timestamp()), int(self._now().timestamp()) + MIN_SESSION_SECONDS
        )
        params: Any = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount,
                        "product_data": {"name": request.description},
                    },
                }
            ],
            "client_reference_id": request.reservation_code,
            "metadata": {"reservation_code": request.reservation_code},
            "payment_intent_data": {"metadata": {"reservation_code": request.reservation_code}},
            "customer_email": request.email,
            "success_url": request.return_url,
            "cancel_url": request.return_url,
            "expires_at": expires_at,
        }
        session = await self._call(
            "create_link",
            self._client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": request.idempotency_key}
            ),
        )
        return PaymentLink(session.id, session.url or "")

    async def status(self, reference: str) -> PaymentStatus:
        session = await self._call(
            "status",
            self._client.v1.checkout.sessions.retrieve_async(
                reference, {"expand": ["payment_intent.latest_charge"]}
            ),
        )
        intent = session.payment_intent
        charge = getattr(intent, "latest_charge", None) if intent else None
        return PaymentStatus(
            reference=session.id,
            reservation_code=session.metadata.to_dict().get("reservation_code")
            if session.metadata
            else None,
            state=_state(session.status, session.payment_status, getattr(intent, "status", None)),
            amount=session.amount_total or 0,
            currency=(session.currency or "").upper(),
            charge_reference=intent if isinstance(intent, str) else getattr(intent, "id", None),
            refunded=getattr(charge, "amount_refunded", 0) or 0,
            receipt_url=getattr(charge, "receipt_url", None),
        )

    async def refund(
        self, charge_reference: str, amount: int, currency: str, idempotency_key: str
    ) -> RefundResult:
        refund = await self._call(
            "refund",
            self._client.v1.refunds.create_async(
                {"payment_intent": charge_reference, "amount": amount},
                {"idempotency_key": idempotency_key},
            ),
        )
        return RefundResult(refund.id, refund.status == "succeeded")

    async def expire_link(self, reference: str, reservation_code: str) -> None:
        await self._call("expire_link", self._client.v1.checkout.sessions.expire_async(reference))

    async def verify(self, headers: Mapping[str, str], body: bytes) -> Notice | Ignored:
        signature = headers.get("Stripe-Signature")
        if not signature or not signature.isascii():
            raise InvalidWebhook("signature")
        try:
            stripe.WebhookSignature.verify_header(body, signature, self._secret, self._tolerance)
        except stripe.SignatureVerificationError:
            raise InvalidWebhook("signature") from None
        except ValueError:  # not UTF-8
            raise InvalidWebhook("malformed") from None
        # Read by us, not by the SDK's event class: a signed body can still be any JSON (a
        # list, an event without data), and only what we read below is ever used.
        try:
            document = json_object(body)
            kind = identifier(at(document, "type"))
            if kind not in FOLLOWED:
                return Ignored(kind)
            return Notice(
                identifier(at(document, "id")),
                kind,
                identifier(at(document, "data", "object", "id")),
            )
        except MalformedJson:
            raise InvalidWebhook("malformed") from None

    async def _call(self, operation: str, call: Any) -> Any:
        async def run() -> Any:
            try:
                return await partner_call(self.name, call)
            except stripe.StripeError as error:
                raise GatewayError(self.name, error.http_status, error.code) from None

        return await timed(self._metrics, self.name, operation, run)


class PartnerHttp(stripe.HTTPClient):
    """The Stripe SDK's HTTP client, through the partner client. A POST is retried only with
    its ``Idempotency-Key`` (the SDK gives every POST one); GETs and DELETEs always may be.
    When no answer comes, the partner client's ``PartnerError`` goes through the SDK untouched
    (it catches only its own connection errors) to the gateway, which says why."""

    name = "rsv360-partners"

    def __init__(self, partners: PartnerClient, api: PartnerApi) -> None:
        super().__init__()
        self._partners = partners
        self._api = api

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        answer = await self._partners.call(
            self._api,
            method,
            url,
            headers=headers,
            data=post_data,
            safe_to_repeat="Idempotency-Key" in headers,
        )
        return answer.body, answer.status, answer.headers


def _state(status: str | None, payment_status: str | None, intent: str | None) -> PaymentState:
    if payment_status in ("paid", "no_payment_required"):
        return "paid"
    if status == "expired":
        return "expired"
    if status == "complete" and intent in ("requires_payment_method", "canceled"):
        return "failed"  # an asynchronous method (boleto, bank debit) that did not go through
    return "pending"
