"""A local Mercado Pago: Checkout Pro preferences, payments (Pix with its QR code), refunds and
signed notifications, as the REST API documents them; ``X-Idempotency-Key`` replays."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeProvider

PIX_CODE = "00020126580014br.gov.bcb.pix0136{key}520400005303986540{amount}5802BR6304ABCD"


class FakeMercadoPago(FakeProvider):
    def __init__(self, webhook_secret: str = "mp-secret", with_qr_image: bool = True) -> None:
        super().__init__()
        self.webhook_secret = webhook_secret
        self.with_qr_image = with_qr_image
        self.preferences: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1_300_000_001)
        self.app.router.add_post("/checkout/preferences", self._preference)
        self.app.router.add_post("/v1/payments", self._create_payment)
        self.app.router.add_get("/v1/payments/search", self._search)
        self.app.router.add_get("/v1/payments/{id}", self._payment)
        self.app.router.add_put("/v1/payments/{id}", self._update_payment)
        self.app.router.add_put("/checkout/preferences/{id}", self._update_preference)
        self.app.router.add_post("/v1/payments/{id}/refunds", self._refund)

    def idempotency_header(self) -> str:
        return "X-Idempotency-Key"

    def error_body(self, status: int) -> Any:
        error = "too_many_requests" if status == 429 else "internal_error"
        return {"message": f"fake {status}", "error": error, "status": status, "cause": []}

    # -- what the test makes happen ------------------------------------------------------------

    def pay(self, reference: str, amount: float | None = None, status: str = "approved") -> str:
        """The payer pays a preference by card (a new payment) or a Pix charge (by its id)."""
        if reference in self.payments:
            payment = self.payments[reference]
            if payment["status"] == "cancelled":
                raise ValueError(f"payment {reference} was cancelled: nothing to pay")
        else:
            preference = self.preferences[reference]
            if preference.get("expires") and preference["expiration_date_to"] <= _now():
                raise ValueError(f"preference {reference} expired: nothing to pay")
            payment = self._new_payment(
                preference["items"][0]["unit_price"],
                preference["items"][0]["currency_id"],
                preference["external_reference"],
                "visa",
            )
        payment["status"] = status
        if amount is not None:
            payment["transaction_amount"] = amount
        return str(payment["id"])

    def notification(self, payment_id: str, notification_id: int | None = None) -> bytes:
        return json.dumps(
            {
                "id": notification_id or int(next(self._ids)),
                "live_mode": False,
                "type": "payment",
                "date_created": "2026-11-29T10:00:00Z",
                "user_id": 44444,
                "api_version": "v1",
                "action": "payment.updated",
                "data": {"id": payment_id},
            }
        ).encode()

    def sign(
        self,
        body: bytes,
        request_id: str = "req-1",
        ts: int | str | None = None,
        secret: str | None = None,
        data_id: str | None = None,
    ) -> dict[str, str]:
        """Headers signing ``body``; ``data_id`` for a body that has none of its own."""
        data_id = json.loads(body)["data"]["id"] if data_id is None else data_id
        stamp = str(ts if ts is not None else int(time.time() * 1000))
        manifest = f"id:{data_id};request-id:{request_id};ts:{stamp};"
        digest = hmac.new(
            (secret or self.webhook_secret).encode(), manifest.encode(), hashlib.sha256
        ).hexdigest()
        return {
            "x-signature": f"ts={stamp},v1={digest}",
            "x-request-id": request_id,
            "Content-Type": "application/json",
        }

    # -- the API ---------------------------------------------------------------------------------

    async def _preference(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("items"):
            return _bad("items", "items is required")
        preference_id = f"44444-{secrets.token_hex(8)}"
        preference = {**body, "id": preference_id,
                      "init_point": f"https://www.mercadopago.com.br/checkout/v1/redirect?pref_id={preference_id}",
                      "sandbox_init_point": "https://sandbox.mercadopago.com.br/"}  # fmt: skip
        self.preferences[preference_id] = preference
        return web.json_response(preference, status=201)

    async def _create_payment(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("payment_method_id") != "pix":
            return _bad("payment_method_id", "payment_method_id invalid")
        payment = self._new_payment(
            body["transaction_amount"], "BRL", body.get("external_reference"), "pix"
        )
        code = PIX_CODE.format(key=secrets.token_hex(18), amount=body["transaction_amount"])
        payment["point_of_interaction"] = {"type": "PIX", "transaction_data": {
            "qr_code": code, "ticket_url": "https://www.mercadopago.com.br/payments/ticket",
            "qr_code_base64": _tiny_png_base64() if self.with_qr_image else None,
        }}  # fmt: skip
        return web.json_response(payment, status=201)

    async def _payment(self, request: web.Request) -> web.Response:
        payment = self.payments.get(request.match_info["id"])
        if payment is None:
            return _bad("id", "Payment not found", 2000, 404)
        return web.json_response(payment)

    async def _update_preference(self, request: web.Request) -> web.Response:
        preference = self.preferences.get(request.match_info["id"])
        if preference is None:
            return _bad("id", "Preference not found", 2000, 404)
        preference.update(await request.json())
        return web.json_response(preference)

    async def _search(self, request: web.Request) -> web.Response:
        reference = request.query.get("external_reference")
        found = [p for p in self.payments.values() if p["external_reference"] == reference]
        return web.json_response({"results": found, "paging": {"total": len(found)}})

    async def _update_payment(self, request: web.Request) -> web.Response:
        """Only a payment still waiting (pending, in process) can be cancelled."""
        payment = self.payments.get(request.match_info["id"])
        if payment is None:
            return _bad("id", "Payment not found", 2000, 404)
        body = await request.json()
        if body.get("status") != "cancelled" or payment["status"] not in ("pending", "in_process"):
            return _bad("status", "Invalid status transition", 4020)
        payment["status"] = "cancelled"
        return web.json_response(payment)

    async def _refund(self, request: web.Request) -> web.Response:
        payment = self.payments.get(request.match_info["id"])
        if payment is None or payment["status"] not in ("approved", "refunded"):
            return _bad("payment", "Payment not found or not refundable", 2000, 404)
        body = await request.json() if request.can_read_body else {}
        left = round(payment["transaction_amount"] - payment["transaction_amount_refunded"], 2)
        amount = float(body.get("amount", left))
        if amount > left + 1e-9:
            return _bad("amount", "Invalid refund amount", 4010)
        payment["transaction_amount_refunded"] = round(
            payment["transaction_amount_refunded"] + amount, 2
        )
        if abs(payment["transaction_amount_refunded"] - payment["transaction_amount"]) < 1e-9:
            payment["status"] = "refunded"
        return web.json_response(
            {
                "id": int(next(self._ids)),
                "payment_id": payment["id"],
                "amount": amount,
                "status": "approved",
            },
            status=201,
        )

    def _new_payment(
        self, amount: float, currency: str, reference: str | None, method: str
    ) -> dict[str, Any]:
        payment_id = next(self._ids)
        payment = {"id": payment_id, "status": "pending", "status_detail": "pending_waiting",
                   "transaction_amount": amount, "transaction_amount_refunded": 0.0,
                   "currency_id": currency, "external_reference": reference,
                   "payment_method_id": method}  # fmt: skip
        self.payments[str(payment_id)] = payment
        return payment


def _bad(field: str, message: str, code: int = 4020, status: int = 400) -> web.Response:
    return web.json_response(
        {
            "message": message,
            "error": "bad_request",
            "status": status,
            "cause": [{"code": code, "description": message, "data": field}],
        },
        status=status,
    )


def _tiny_png_base64() -> str:
    import base64
    import io

    import segno

    buffer = io.BytesIO()
    segno.make("fake-qr").save(buffer, kind="png")
    return base64.b64encode(buffer.getvalue()).decode()


def _now() -> str:
    """Now, as Mercado Pago writes its dates (compared as text: the same offset)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")
