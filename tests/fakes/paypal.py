"""A local PayPal: OAuth client credentials, Orders v2 (approve, capture), capture refunds and
webhook signature verification, as the REST API documents them; ``PayPal-Request-Id`` replays.

PayPal signs webhooks with a certificate and checks them in ``verify-webhook-signature``; the
fake signs with an HMAC of the same fields (transmission id and time, webhook id, CRC32 of the
event) and answers ``SUCCESS`` or ``FAILURE`` the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import zlib
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeProvider


class FakePayPal(FakeProvider):
    def __init__(
        self, client_id: str = "client", secret: str = "secret", webhook_id: str = "WH-1"
    ) -> None:
        super().__init__()
        self.client_id, self.secret, self.webhook_id = client_id, secret, webhook_id
        self.tokens: list[str] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self._signing_key = secrets.token_bytes(16)
        router = self.app.router
        router.add_post("/v1/oauth2/token", self._token)
        router.add_post("/v2/checkout/orders", self._create_order)
        router.add_get("/v2/checkout/orders/{id}", self._order)
        router.add_post("/v2/checkout/orders/{id}/capture", self._capture)
        router.add_post("/v2/payments/captures/{id}/refund", self._refund)
        router.add_post("/v1/notifications/verify-webhook-signature", self._verify)

    def idempotency_header(self) -> str:
        return "PayPal-Request-Id"

    def error_body(self, status: int) -> Any:
        name = "RATE_LIMIT_REACHED" if status == 429 else "INTERNAL_SERVER_ERROR"
        return {"name": name, "message": f"fake {status}", "debug_id": "d1", "details": []}

    # -- what the test makes happen ------------------------------------------------------------

    def approve(self, order_id: str, value: str | None = None) -> None:
        order = self.orders[order_id]
        order["status"] = "APPROVED"
        if value is not None:
            order["purchase_units"][0]["amount"]["value"] = value

    def event(self, kind: str, order_id: str, event_id: str | None = None) -> bytes:
        order = self.orders.get(order_id, {"id": order_id})
        resource: dict[str, Any] = {"id": order_id, "status": order.get("status")}
        if kind.startswith("PAYMENT."):
            captures = order.get("purchase_units", [{}])[0].get("payments", {}).get("captures", [])
            resource = {"id": captures[0]["id"] if captures else "CAP-X",
                        "supplementary_data": {"related_ids": {"order_id": order_id}}}  # fmt: skip
        return json.dumps(
            {
                "id": event_id or "WH-EV-" + secrets.token_hex(6),
                "event_version": "1.0",
                "resource_type": "checkout-order",
                "event_type": kind,
                "resource": resource,
            }
        ).encode()

    def sign(self, body: bytes, at: datetime | None = None, forged: bool = False) -> dict[str, str]:
        transmission_id = secrets.token_hex(8)
        when = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        signature = self._signature(transmission_id, when, self.webhook_id, json.loads(body))
        return {
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": "https://api.paypal.com/v1/notifications/certs/CERT-1",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": when,
            "PAYPAL-TRANSMISSION-SIG": "forged" if forged else signature,
            "Content-Type": "application/json",
        }

    def _signature(self, transmission_id: str, when: str, webhook_id: str, event: Any) -> str:
        crc = zlib.crc32(json.dumps(event, sort_keys=True).encode())
        message = f"{transmission_id}|{when}|{webhook_id}|{crc}".encode()
        digest = hmac.new(self._signing_key, message, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    # -- the API ---------------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "").removeprefix("Bearer ") in self.tokens

    async def _token(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
        form = await request.post()
        if request.headers.get("Authorization") != expected:
            return web.json_response(
                {"error": "invalid_client", "error_description": "Client Authentication failed"},
                status=401,
            )
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        token = "A21AA" + secrets.token_hex(16)
        self.tokens.append(token)
        return web.json_response(
            {
                "scope": "https://uri.paypal.com/services/payments",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-1",
                "expires_in": 32400,
            }
        )

    async def _create_order(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _unauthorised()
        body = await request.json()
        if body.get("intent") != "CAPTURE" or not body.get("purchase_units"):
            return _unprocessable("INVALID_PARAMETER_VALUE", 400)
        order_id = secrets.token_hex(8).upper()
        order = {"id": order_id, "status": "CREATED", "intent": "CAPTURE",
                 "purchase_units": body["purchase_units"],
                 "links": [{"href": f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}",
                            "rel": "approve", "method": "GET"}]}  # fmt: skip
        self.orders[order_id] = order
        return web.json_response(order, status=201)

    async def _order(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _unauthorised()
        order = self.orders.get(request.match_info["id"])
        if order is None:
            return _unprocessable("INVALID_RESOURCE_ID", 404)
        return web.json_response(order)

    async def _capture(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _unauthorised()
        order = self.orders.get(request.match_info["id"])
        if order is None:
            return _unprocessable("INVALID_RESOURCE_ID", 404)
        if order["status"] == "COMPLETED":
            return _unprocessable("ORDER_ALREADY_CAPTURED")
        if order["status"] != "APPROVED":
            return _unprocessable("ORDER_NOT_APPROVED")
        unit = order["purchase_units"][0]
        unit["payments"] = {"captures": [{"id": "CAP" + secrets.token_hex(6).upper(),
                                          "status": "COMPLETED", "amount": unit["amount"],
                                          "custom_id": unit.get("custom_id")}],
                            "refunds": []}  # fmt: skip
        order["status"] = "COMPLETED"
        return web.json_response(order, status=201)

    async def _refund(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _unauthorised()
        capture_id = request.match_info["id"]
        for order in self.orders.values():
            payments = order["purchase_units"][0].get("payments") or {}
            if any(c["id"] == capture_id for c in payments.get("captures", [])):
                body = await request.json()
                captured = float(payments["captures"][0]["amount"]["value"])
                given = sum(float(r["amount"]["value"]) for r in payments["refunds"])
                if float(body["amount"]["value"]) > captured - given + 1e-9:
                    return _unprocessable("REFUND_AMOUNT_EXCEEDED")
                refund = {"id": "RF" + secrets.token_hex(6).upper(), "status": "COMPLETED",
                          "amount": body["amount"]}  # fmt: skip
                payments["refunds"].append(refund)
                return web.json_response(refund, status=201)
        return _unprocessable("INVALID_RESOURCE_ID", 404)

    async def _verify(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _unauthorised()
        body = await request.json()
        expected = self._signature(
            body["transmission_id"],
            body["transmission_time"],
            body["webhook_id"],
            body["webhook_event"],
        )
        valid = body["webhook_id"] == self.webhook_id and hmac.compare_digest(
            expected, body["transmission_sig"]
        )
        return web.json_response({"verification_status": "SUCCESS" if valid else "FAILURE"})


def _unauthorised() -> web.Response:
    return web.json_response(
        {"error": "invalid_token", "error_description": "Token signature verification failed"},
        status=401,
    )


def _unprocessable(issue: str, status: int = 422) -> web.Response:
    return web.json_response(
        {
            "name": "UNPROCESSABLE_ENTITY",
            "message": issue,
            "debug_id": "d1",
            "details": [{"issue": issue, "description": issue}],
        },
        status=status,
    )
