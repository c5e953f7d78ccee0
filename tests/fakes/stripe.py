"""A local Stripe: Checkout Sessions, their payment intents and charges, refunds, and signed
events. Form-encoded requests and JSON answers as the API documents them; a POST repeating an
``Idempotency-Key`` gets its first answer again."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import stripe
from aiohttp import web

from tests.fakes.base import FakeProvider


class FakeStripe(FakeProvider):
    def __init__(self, webhook_secret: str = "whsec_test") -> None:
        super().__init__()
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.app.router.add_post("/v1/checkout/sessions", self._create_session)
        self.app.router.add_get("/v1/checkout/sessions/{id}", self._session)
        self.app.router.add_post("/v1/checkout/sessions/{id}/expire", self._expire)
        self.app.router.add_post("/v1/refunds", self._refund)

    def idempotency_header(self) -> str:
        return "Idempotency-Key"

    def error_body(self, status: int) -> Any:
        kind = "rate_limit_error" if status == 429 else "api_error"
        return {"error": {"type": kind, "message": f"fake {status}"}}

    # -- what the test makes happen ------------------------------------------------------------

    def pay(self, session_id: str, amount: int | None = None, currency: str | None = None) -> None:
        """The payer completes the session (with another amount or currency, if asked); an
        expired session's page takes no payment."""
        session = self.sessions[session_id]
        if session["status"] != "open":
            raise ValueError(f"session {session_id} is {session['status']}: nothing to pay")
        intent_id = "pi_" + secrets.token_hex(8)
        session.update(status="complete", payment_status="paid", payment_intent=intent_id)
        if amount is not None:
            session["amount_total"] = amount
        if currency is not None:
            session["currency"] = currency
        self.intents[intent_id] = {
            "id": intent_id, "object": "payment_intent", "status": "succeeded",
            "amount": session["amount_total"], "currency": session["currency"],
            "latest_charge": {"id": "ch_" + secrets.token_hex(8), "object": "charge",
                              "amount_refunded": 0,
                              "receipt_url": f"https://pay.stripe.com/receipts/{intent_id}"},
        }  # fmt: skip

    def expire(self, session_id: str) -> None:
        self.sessions[session_id]["status"] = "expired"

    def event(self, kind: str, session_id: str, event_id: str | None = None) -> bytes:
        """An event as Stripe sends it (with the session as it is now: we never trust it)."""
        return json.dumps(
            {
                "id": event_id or "evt_" + secrets.token_hex(8),
                "object": "event",
                "type": kind,
                "api_version": "2025-01-27",
                "created": int(time.time()),
                "data": {
                    "object": self.sessions.get(
                        session_id, {"id": session_id, "object": "checkout.session"}
                    )
                },
            }
        ).encode()

    def sign(self, body: bytes, timestamp: int | None = None, secret: str | None = None) -> str:
        return str(
            stripe.WebhookSignature.generate_signature_header(
                body.decode(),
                secret or self.webhook_secret,
                timestamp=timestamp or int(time.time()),
            )
        )

    # -- the API ---------------------------------------------------------------------------------

    async def _create_session(self, request: web.Request) -> web.Response:
        form = await request.post()
        expires_at = int(str(form.get("expires_at", time.time() + 86400)))
        if expires_at < time.time() + 30 * 60:
            return _invalid(
                "expires_at",
                "The expires_at timestamp must be at least 30 "
                "minutes from Checkout Session creation.",
            )
        if "line_items[0][price_data][unit_amount]" not in form:
            return _invalid("line_items", "Missing required param: line_items.")
        session_id = "cs_test_" + secrets.token_hex(12)
        session = {
            "id": session_id, "object": "checkout.session", "mode": "payment",
            "status": "open", "payment_status": "unpaid", "payment_intent": None,
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            "amount_total": int(str(form["line_items[0][price_data][unit_amount]"])),
            "currency": str(form["line_items[0][price_data][currency]"]),
            "client_reference_id": form.get("client_reference_id"),
            "metadata": {"reservation_code": form.get("metadata[reservation_code]")},
            "success_url": form.get("success_url"), "expires_at": expires_at,
        }  # fmt: skip
        self.sessions[session_id] = session
        return web.json_response(session)

    async def _session(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.match_info["id"])
        if session is None:
            return _missing(request.match_info["id"])
        answer = dict(session)
        expand = [value for key, value in request.query.items() if key.startswith("expand[")]
        if answer["payment_intent"] and any(e.startswith("payment_intent") for e in expand):
            answer["payment_intent"] = self.intents[answer["payment_intent"]]
        return web.json_response(answer)

    async def _expire(self, request: web.Request) -> web.Response:
        """Like Stripe's: only an open session can be expired."""
        session = self.sessions.get(request.match_info["id"])
        if session is None:
            return _missing(request.match_info["id"])
        if session["status"] != "open":
            return web.json_response(
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "checkout_session_not_open",
                        "message": (
                            'Only Checkout Sessions with a status in ["open"] can be expired.'
                        ),
                    }
                },
                status=400,
            )
        session.update(status="expired")
        return web.json_response(session)

    async def _refund(self, request: web.Request) -> web.Response:
        form = await request.post()
        intent = self.intents.get(str(form.get("payment_intent")))
        if intent is None:
            return _missing(str(form.get("payment_intent")))
        charge = intent["latest_charge"]
        amount = int(str(form.get("amount", intent["amount"] - charge["amount_refunded"])))
        if amount > intent["amount"] - charge["amount_refunded"]:
            return web.json_response(
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "amount_too_large",
                        "message": "Refund amount is greater than unrefunded amount on charge",
                    }
                },
                status=400,
            )
        charge["amount_refunded"] += amount
        refund_id = "re_" + secrets.token_hex(8)
        refund = {"id": refund_id, "object": "refund", "amount": amount, "status": "succeeded",
                  "payment_intent": intent["id"], "currency": intent["currency"]}  # fmt: skip
        self.refunds[refund_id] = refund
        return web.json_response(refund)


def _invalid(param: str, message: str) -> web.Response:
    return web.json_response(
        {
            "error": {
                "type": "invalid_request_error",
                "param": param,
                "code": "parameter_invalid_integer",
                "message": message,
            }
        },
        status=400,
    )


def _missing(name: str) -> web.Response:
    error = {"type": "invalid_request_error", "code": "resource_missing",
             "message": f"No such object: '{name}'"}  # fmt: skip
    return web.json_response({"error": error}, status=404)
