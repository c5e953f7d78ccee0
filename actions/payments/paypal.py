"""PayPal: Orders v2 with the approve link, captured when the payer returns or the webhook
comes, refunds of the capture. Async REST through the partner client (the server SDK is sync).

The OAuth token is cached until shortly before it expires; every call that creates something
carries ``PayPal-Request-Id``, PayPal's idempotency key (the capture's is derived from the
order, so the return and the webhook capturing at once capture once). Webhooks are verified by
PayPal itself (``/v1/notifications/verify-webhook-signature``), after a check of the
transmission time against the tolerance.
"""

from __future__ import annotations

import asyncio
import base64
import math
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

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
    Rest,
    to_decimal,
    to_minor,
)
from actions.payments.metrics import PaymentMetrics
from bot.core.clock import Now
from bot.edge.json_body import MalformedJson, at, identifier, json_object
from bot.partners.client import PartnerClient

FOLLOWED = {
    "CHECKOUT.ORDER.APPROVED",
    "CHECKOUT.ORDER.COMPLETED",
    "PAYMENT.CAPTURE.COMPLETED",
    "PAYMENT.CAPTURE.DENIED",
    "PAYMENT.CAPTURE.REFUNDED",
    "CHECKOUT.ORDER.VOIDED",
}
TRANSMISSION = ("auth-algo", "cert-url", "transmission-id", "transmission-sig",
                "transmission-time")  # fmt: skip


class PayPalGateway:
    name = "paypal"
    takes_webhooks = True
    status_by_charge = False
    return_parameter: str | None = "token"
    keeps_own_books = False

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        webhook_id: str,
        metrics: PaymentMetrics,
        partners: PartnerClient,
        *,
        api_base: str = "https://api-m.sandbox.paypal.com",
        now: Now,
        tolerance_seconds: int = 300,
        retries: int = 2,
        timeout_seconds: float = 10.0,
    ) -> None:
        credentials = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._basic = {"Authorization": f"Basic {credentials}"}
        self._webhook_id = webhook_id
        self._tolerance = tolerance_seconds
        self._now = now
        api = partners.api(self.name, self.name, timeout_seconds=timeout_seconds, retries=retries)
        self._rest = Rest(self.name, api_base.rstrip("/"), metrics, partners, api)
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()

    async def create_link(self, request: LinkRequest) -> PaymentLink:
        order = await self._call(
            "POST",
            "/v2/checkout/orders",
            "create_link",
            request.idempotency_key,
            {
                "intent": "CAPTURE",
                "purchase_units": [
                    {
                        "reference_id": request.reservation_code,
                        "custom_id": request.reservation_code,
                        "description": request.description[:127],
                        "amount": {
                            "currency_code": request.currency,
                            "value": str(to_decimal(request.amount)),
                        },
                    }
                ],
                "application_context": {
                    "return_url": request.return_url,
                    "cancel_url": request.return_url,
                    "user_action": "PAY_NOW",
                    "shipping_preference": "NO_SHIPPING",
                },
            },
        )
        approve = next(
            (
                link["href"]
                for link in order.get("links", [])
                if link.get("rel") in ("approve", "payer-action")
            ),
            None,
        )
        if approve is None:
            raise GatewayError(self.name, None, "no_approve_link")
        return PaymentLink(str(order["id"]), str(approve))

    async def status(self, reference: str) -> PaymentStatus:
        """The order, captured first when the payer approved it."""
        order_id = _safe(reference)
        order = await self._call("GET", f"/v2/checkout/orders/{order_id}", "status")
        if order.get("status") == "APPROVED":
            try:
                order = await self._call(
                    "POST",
                    f"/v2/checkout/orders/{order_id}/capture",
                    "capture",
                    f"capture-{order_id}",
                    {},
                )
            except GatewayError as error:
                if error.code != "ORDER_ALREADY_CAPTURED":
                    raise
                order = await self._call("GET", f"/v2/checkout/orders/{order_id}", "status")
        unit = (order.get("purchase_units") or [{}])[0]
        payments = unit.get("payments") or {}
        capture = (payments.get("captures") or [None])[0]
        refunded = sum(
            to_minor(r["amount"]["value"])
            for r in payments.get("refunds") or []
            if r.get("status") == "COMPLETED"
        )
        amount = (capture or unit).get("amount") or {}
        return PaymentStatus(
            reference=str(order["id"]),
            reservation_code=unit.get("custom_id") or (capture or {}).get("custom_id"),
            state=_state(str(order.get("status")), capture),
            amount=to_minor(amount.get("value") or 0),
            currency=str(amount.get("currency_code") or ""),
            charge_reference=capture["id"] if capture else None,
            refunded=refunded,
        )

    async def refund(
        self, charge_reference: str, amount: int, currency: str, idempotency_key: str
    ) -> RefundResult:
        refund = await self._call(
            "POST",
            f"/v2/payments/captures/{_safe(charge_reference)}/refund",
            "refund",
            idempotency_key,
            {"amount": {"value": str(to_decimal(amount)), "currency_code": currency}},
        )
        return RefundResult(str(refund["id"]), refund.get("status") == "COMPLETED")

    async def expire_link(self, reference: str, reservation_code: str) -> None:
        """An order the payer has not approved has nothing to void: it lapses by itself, and
        the link is closed on our side (an approved one is captured and refunded if paid)."""

    async def verify(self, headers: Mapping[str, str], body: bytes) -> Notice | Ignored:
        transmission = {name: headers.get(f"paypal-{name}", "") for name in TRANSMISSION}
        if not all(transmission.values()) or not "".join(transmission.values()).isascii():
            raise InvalidWebhook("signature")
        try:
            event = json_object(body)
            sent = datetime.fromisoformat(transmission["transmission-time"].replace("Z", "+00:00"))
            sent_at = sent.timestamp() if sent.tzinfo is not None else math.nan
            event_id, kind = identifier(at(event, "id")), identifier(at(event, "event_type"))
            resource = at(event, "resource")
        except (ValueError, OverflowError, MalformedJson):
            raise InvalidWebhook("malformed") from None
        if not abs(self._now().timestamp() - sent_at) <= self._tolerance:
            raise InvalidWebhook("stale")
        verdict = await self._call(
            "POST",
            "/v1/notifications/verify-webhook-signature",
            "verify_webhook",
            None,
            reads_only=True,
            body={
                "auth_algo": transmission["auth-algo"],
                "cert_url": transmission["cert-url"],
                "transmission_id": transmission["transmission-id"],
                "transmission_sig": transmission["transmission-sig"],
                "transmission_time": transmission["transmission-time"],
                "webhook_id": self._webhook_id,
                "webhook_event": event,
            },
        )
        if verdict.get("verification_status") != "SUCCESS":
            raise InvalidWebhook("signature")
        if kind not in FOLLOWED:
            return Ignored(kind)
        related = ("supplementary_data", "related_ids", "order_id")
        path = related if kind.startswith("PAYMENT.") else ("id",)
        try:
            return Notice(event_id, kind, identifier(at(resource, *path)))
        except MalformedJson:
            raise InvalidWebhook("malformed") from None

    async def _call(
        self,
        method: str,
        path: str,
        operation: str,
        key: str | None = None,
        body: Any = None,
        *,
        reads_only: bool = False,
    ) -> dict[str, Any]:
        """``key``: PayPal-Request-Id, with which PayPal does a POST once however often it is
        sent; a POST without one is retried only when it ``reads_only``."""
        headers = {"Authorization": f"Bearer {await self._access_token()}",
                   "Prefer": "return=representation"}  # fmt: skip
        if key is not None:
            headers["PayPal-Request-Id"] = key
        try:
            return await self._rest.call(
                method,
                path,
                operation,
                headers=headers,
                json=body,
                safe_to_repeat=key is not None or reads_only,
                error_code=_error_code,
            )
        except GatewayError as error:
            if error.status == 401:
                self._token = None  # revoked early: the next call gets a new one
            raise

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token is None or self._token[1] <= time.monotonic():
                answer = await self._rest.call(
                    "POST",
                    "/v1/oauth2/token",
                    "token",
                    headers=self._basic,
                    data={"grant_type": "client_credentials"},
                    safe_to_repeat=True,  # a second token is as good as the first
                    error_code=_error_code,
                )
                lifetime = float(str(answer.get("expires_in") or 300))
                self._token = (str(answer["access_token"]), time.monotonic() + lifetime - 60)
            return self._token[0]


def _state(order_status: str, capture: Mapping[str, Any] | None) -> PaymentState:
    capture_status = (capture or {}).get("status")
    if capture_status in ("COMPLETED", "REFUNDED", "PARTIALLY_REFUNDED"):
        return "paid"
    if capture_status in ("DECLINED", "FAILED"):
        return "failed"
    if order_status == "VOIDED":
        return "expired"
    return "pending"


def _error_code(body: object) -> str | None:
    if isinstance(body, dict):
        details = body.get("details") or []
        if details and isinstance(details[0], dict) and details[0].get("issue"):
            return str(details[0]["issue"])
        return str(body.get("name") or body.get("error") or "") or None
    return None


def _safe(reference: str) -> str:
    if not reference.isalnum() or len(reference) > 40:
        raise GatewayError("paypal", 404, "not_an_id")
    return reference
