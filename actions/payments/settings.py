"""Payment settings, one section per gateway (``RSV_STRIPE_*``, ``RSV_MERCADOPAGO_*``,
``RSV_PAYPAL_*``) and one for what they share (``RSV_PAYMENT_*``); read by ``bot.root.settings``.
"""

from __future__ import annotations

from typing import Annotated, Protocol

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import NoDecode


class PaymentSettings(BaseModel):
    routes: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated gateways per currency and property, preferred first: "
        "BRL=mercadopago+sandbox,USD=stripe+paypal,pousada-do-mar/EUR=paypal; sandbox when unset.",
    )
    webhook_tolerance_seconds: int = Field(
        default=300, gt=0, description="Oldest webhook timestamp accepted (replay protection)."
    )
    gateway_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest wait for one try of a gateway call."
    )
    gateway_retries: int = Field(
        default=2,
        ge=0,
        le=5,
        description="Retries of a gateway call after 429, 5xx or a timeout (only of calls that "
        "carry the gateway's idempotency key or only read); in place of RSV_PARTNERS_RETRIES "
        "for the gateways.",
    )

    @field_validator("routes", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


class StripeSettings(BaseModel):
    api_key: SecretStr | None = Field(default=None, description="Stripe secret key; off unset.")
    webhook_secret: SecretStr | None = Field(
        default=None, description="Stripe endpoint signing secret (whsec_...); Stripe is off unset."
    )
    api_base: str = Field(default="https://api.stripe.com", description="Stripe API base URL.")


class MercadoPagoSettings(BaseModel):
    access_token: SecretStr | None = Field(
        default=None, description="Mercado Pago access token; off unset."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Mercado Pago webhook secret (x-signature); Mercado Pago is off unset.",
    )
    api_base: str = Field(
        default="https://api.mercadopago.com", description="Mercado Pago API base URL."
    )


class PayPalSettings(BaseModel):
    client_id: str | None = Field(default=None, description="PayPal REST client id; off unset.")
    client_secret: SecretStr | None = Field(default=None, description="PayPal REST secret.")
    webhook_id: str | None = Field(
        default=None,
        description="PayPal webhook id, for signature verification; PayPal is off unset.",
    )
    api_base: str = Field(
        default="https://api-m.sandbox.paypal.com", description="PayPal API base (sandbox or live)."
    )


class PaymentsConfig(Protocol):
    """What payments read from the bot's settings (the root's ``Settings`` is one)."""

    @property
    def payment(self) -> PaymentSettings: ...
    @property
    def stripe(self) -> StripeSettings: ...
    @property
    def mercadopago(self) -> MercadoPagoSettings: ...
    @property
    def paypal(self) -> PayPalSettings: ...
    @property
    def staff_alerts(self) -> str | None: ...
    @property
    def refund_approval_above(self) -> int: ...
    @property
    def hold_minutes(self) -> int: ...
    @property
    def base_url(self) -> str: ...
