"""Mercado Pago: a Checkout Pro preference (``init_point``) and a Pix charge for each link.

Async REST through the partner client (the official SDK blocks the loop on ``requests``);
every call that creates something carries ``X-Idempotency-Key``, and only those POSTs are
retried (its PUTs set a state, so repeating one changes nothing). The Pix QR code comes as a
PNG in base64; when the answer lacks it, the PNG is drawn from the copy-and-paste code with
``segno``.

Webhooks are signed: ``x-signature: ts=...,v1=...`` is an HMAC-SHA256 (hex) of
``id:{data.id};request-id:{x-request-id};ts:{ts};`` with the webhook secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import segno

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

STATES: dict[str, PaymentState] = {
    "approved": "paid",
    "refunded": "paid",
    "charged_back": "paid",
    "rejected": "failed",
    "cancelled": "expired",
}


class MercadoPagoGateway:
    name = "mercadopago"
    takes_webhooks = True
    status_by_charge = True
    return_parameter: str | None = None
    keeps_own_books = False

    def __init__(
        self,
        access_token: str,
        webhook_secret: str,
        metrics: PaymentMetrics,
        partners: PartnerClient,
        *,
        api_base: str = "https://api.mercadopago.com",
        now: Now,
        tolerance_seconds: int = 300,
        retries: int = 2,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._token = access_token
        self._secret = webhook_secret.encode()
        self._tolerance = tolerance_seconds
        self._now = now
        api = partners.api(self.name, self.name, timeout_seconds=timeout_seconds, retries=retries)
        self._rest = Rest(self.name, api_base.rstrip("/"), metrics, partners, api)

    async def create_link(self, request: LinkRequest) -> PaymentLink:
        expires = request.expires_at.isoformat(timespec="milliseconds")
        amount = float(to_decimal(request.amount))
        preference = await self._call(
            "POST",
            "/checkout/preferences",
            "create_link",
            request.idempotency_key,
            {
                "items": [
                    {
                        "title": request.description,
                        "quantity": 1,
                        "unit_price": amount,
                        "currency_id": request.currency,
                    }
                ],
                "external_reference": request.reservation_code,
                "payer": {"email": request.email},
                "back_urls": {
                    "success": request.return_url,
                    "failure": request.return_url,
                    "pending": request.return_url,
                },
                "auto_return": "approved",
                "expires": True,
                "expiration_date_to": expires,
            },
        )
        pix_code = pix_png = None
        if request.currency == "BRL":  # Pix exists only in reais
            pix = await self._call(
                "POST",
                "/v1/payments",
                "create_pix",
                request.idempotency_key + "-pix",
                {
                    "transaction_amount": amount,
                    "description": request.description,
                    "payment_method_id": "pix",
                    "payer": {"email": request.email},
                    "external_reference": request.reservation_code,
                    "date_of_expiration": expires,
                },
            )
            data = pix.get("point_of_interaction", {}).get("transaction_data", {})
            pix_code = data.get("qr_code")
            pix_png = _png(data.get("qr_code_base64"), pix_code)
        return PaymentLink(str(preference["id"]), str(preference["init_point"]), pix_code, pix_png)

    async def status(self, reference: str) -> PaymentStatus:
        payment = await self._call("GET", f"/v1/payments/{_safe(reference)}", "status")
        return PaymentStatus(
            reference=str(payment["id"]),
            reservation_code=payment.get("external_reference"),
            state=STATES.get(str(payment.get("status")), "pending"),
            amount=to_minor(payment.get("transaction_amount") or 0),
            currency=str(payment.get("currency_id") or ""),
            charge_reference=str(payment["id"]),
            refunded=to_minor(payment.get("transaction_amount_refunded") or 0),
        )

    async def refund(
        self, charge_reference: str, amount: int, currency: str, idempotency_key: str
    ) -> RefundResult:
        refund = await self._call(
            "POST",
            f"/v1/payments/{_safe(charge_reference)}/refunds",
            "refund",
            idempotency_key,
            {"amount": float(to_decimal(amount))},
        )
        return RefundResult(str(refund["id"]), refund.get("status") == "approved")

    async def expire_link(self, reference: str, reservation_code: str) -> None:
        """The preference expires now, and the reservation's Pix charges still waiting are
        cancelled (a payment already approved cannot be: it will be refunded when it comes)."""
        now = self._now().isoformat(timespec="milliseconds")
        await self._call(
            "PUT",
            f"/checkout/preferences/{quote(reference, safe='')}",
            "expire_link",
            body={"expires": True, "expiration_date_to": now},
        )
        found = await self._call(
            "GET",
            f"/v1/payments/search?external_reference={quote(reservation_code, safe='')}",
            "expire_link",
        )
        for payment in found.get("results", []):
            if payment.get("payment_method_id") == "pix" and payment.get("status") == "pending":
                await self._call(
                    "PUT",
                    f"/v1/payments/{_safe(str(payment['id']))}",
                    "expire_link",
                    body={"status": "cancelled"},
                )

    async def verify(self, headers: Mapping[str, str], body: bytes) -> Notice | Ignored:
        signature, request_id = headers.get("x-signature", ""), headers.get("x-request-id", "")
        if not (signature + request_id).isascii():  # aiohttp hands over any bytes as escapes
            raise InvalidWebhook("signature")
        parts = dict(part.strip().split("=", 1) for part in signature.split(",") if "=" in part)
        stamp = parts.get("ts", "")
        if not stamp.isdigit() or len(stamp) > 16:
            raise InvalidWebhook("malformed")
        try:
            document = json_object(body)
            data_id = identifier(at(document, "data", "id"), 24, numbers=True)
        except MalformedJson:
            raise InvalidWebhook("malformed") from None
        if not data_id.isdigit():
            raise InvalidWebhook("malformed")
        manifest = f"id:{data_id.lower()};request-id:{request_id};ts:{stamp};"
        expected = hmac.new(self._secret, manifest.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), parts.get("v1", "").encode()):
            raise InvalidWebhook("signature")
        timestamp = int(stamp)
        seconds = timestamp / 1000 if timestamp > 10**11 else timestamp  # ms in newer senders
        if abs(self._now().timestamp() - seconds) > self._tolerance:
            raise InvalidWebhook("stale")
        try:
            named = document.get("type") or document.get("topic")
            kind = "" if named is None else identifier(named)
            if kind != "payment":
                return Ignored(kind)
            event_id = identifier(document.get("id") or f"{data_id}:{request_id}", numbers=True)
            return Notice(event_id, identifier(document.get("action") or kind), data_id)
        except MalformedJson:
            raise InvalidWebhook("malformed") from None

    async def _call(
        self, method: str, path: str, operation: str, key: str | None = None, body: Any = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token}"}
        if key is not None:
            headers["X-Idempotency-Key"] = key
        return await self._rest.call(
            method,
            path,
            operation,
            headers=headers,
            json=body,
            safe_to_repeat=key is not None,
            error_code=_error_code,
        )


def _error_code(body: object) -> str | None:
    if isinstance(body, dict):
        causes = body.get("cause") or []
        if causes and isinstance(causes[0], dict) and causes[0].get("code") is not None:
            return str(causes[0]["code"])
        return str(body.get("error") or body.get("message") or "") or None
    return None


def _png(encoded: str | None, code: str | None) -> bytes | None:
    if encoded:
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            pass
    if not code:
        return None
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()


def _safe(reference: str) -> str:
    if not reference.isdigit() or len(reference) > 24:
        raise GatewayError("mercadopago", 404, "not_a_payment_id")  # its ids are numbers
    return reference
