"""Every setting of the bot, read from ``RSV_*`` environment variables and an optional ``.env``.

Only the composition root (``bot.root.app``) and the CLI construct :class:`Settings`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RSV_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    host: str = Field("127.0.0.1", description="Address `rsv360 serve` listens on.")
    port: int = Field(8080, ge=1, le=65535, description="Port `rsv360 serve` listens on.")
    public_url: str | None = Field(
        None, description="External base URL, used in links; defaults to http://host:port."
    )
    data_dir: Path = Field(Path("data"), description="Where embedded state files are kept.")

    database_url: str | None = Field(
        None,
        description="SQLAlchemy async URL (postgresql+asyncpg://...); a SQLite file in data_dir "
        "when unset.",
    )
    hold_minutes: int = Field(
        15, gt=0, le=24 * 60, description="How long a hold keeps the rooms for the guest."
    )
    redis_url: str | None = Field(
        None,
        description="redis:// URL for sessions, limits, dedupe and order; in-process when unset.",
    )

    brand: str = Field("Pousada do Mar", description="Name the assistant introduces itself with.")
    knowledge_dir: Path = Field(
        PACKAGE_ROOT / "actions" / "faq" / "knowledge",
        description="Folder of the properties' knowledge files (one YAML file per property).",
    )
    default_property: str = Field(
        "pousada-do-mar", description="Property a conversation is about until the guest picks one."
    )
    redis_max_connections: int = Field(
        200, gt=0, description="Connections per Redis pool; callers wait for one beyond that."
    )
    default_locale: str = Field("pt_BR", description="Locale when the channel gives none.")
    timezone: str = Field(
        "America/Sao_Paulo", description="Time zone that relative dates in messages refer to."
    )

    models_dir: Path | None = Field(
        None, description="Where trained models are kept; defaults to data_dir/models."
    )
    nlu_threshold: float = Field(
        0.3, gt=0, lt=1, description="Intent confidence below which a message is out of scope."
    )
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint that helps with unsure messages; off unset."
    )
    llm_api_key: SecretStr = Field(SecretStr("none"), description="API key of that endpoint.")
    llm_model: str = Field("gpt-4o-mini", description="Model name asked at that endpoint.")
    llm_timeout_seconds: float = Field(
        3.0, gt=0, description="Longest wait for the LLM before the model's reading stands."
    )

    log_format: Literal["json", "console"] = Field("json", description="Log line format.")
    log_level: str = Field("INFO", description="Log level name.")

    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated REST bearer keys; with none, REST answers loopback only.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs widget tokens and checkout links; generated into data_dir when unset.",
    )
    widget_token_max_age_seconds: int = Field(
        30 * 24 * 3600, gt=0, description="How long a widget token resumes a conversation."
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated Origins allowed on /ws besides the bot's own.",
    )
    max_text_chars: int = Field(4000, gt=0, description="Longest message text accepted.")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated CIDRs of the reverse proxies in front of the bot; only their "
        "X-Forwarded-For is believed (read from the right). Unset: the peer address is the client.",
    )
    ops_token: SecretStr | None = Field(
        None,
        description="Bearer token that /metrics and /readyz require; open to every caller unset.",
    )
    ops_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated CIDRs allowed to call /metrics and /readyz; any unset.",
    )

    staff_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated staff identities: channel:user_id or channel:group:group_id "
        "(slack:U012AB, telegram:123456, slack:group:S01, discord:group:987).",
    )
    admin_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated admin identities, as staff_ids."
    )

    # -- payments --
    payment_routes: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated gateways per currency and property, preferred first: "
        "BRL=mercadopago+sandbox,USD=stripe+paypal,pousada-do-mar/EUR=paypal; sandbox when unset.",
    )
    stripe_api_key: SecretStr | None = Field(None, description="Stripe secret key; off unset.")
    stripe_webhook_secret: SecretStr | None = Field(
        None, description="Stripe endpoint signing secret (whsec_...); Stripe is off unset."
    )
    stripe_api_base: str = Field("https://api.stripe.com", description="Stripe API base URL.")
    mercadopago_access_token: SecretStr | None = Field(
        None, description="Mercado Pago access token; off unset."
    )
    mercadopago_webhook_secret: SecretStr | None = Field(
        None, description="Mercado Pago webhook secret (x-signature); Mercado Pago is off unset."
    )
    mercadopago_api_base: str = Field(
        "https://api.mercadopago.com", description="Mercado Pago API base URL."
    )
    paypal_client_id: str | None = Field(None, description="PayPal REST client id; off unset.")
    paypal_client_secret: SecretStr | None = Field(None, description="PayPal REST secret.")
    paypal_webhook_id: str | None = Field(
        None, description="PayPal webhook id, for signature verification; PayPal is off unset."
    )
    paypal_api_base: str = Field(
        "https://api-m.sandbox.paypal.com", description="PayPal API base (sandbox or live)."
    )
    payment_webhook_tolerance_seconds: int = Field(
        300, gt=0, description="Oldest webhook timestamp accepted (replay protection)."
    )
    payment_gateway_timeout_seconds: float = Field(
        10.0, gt=0, description="Longest wait for one gateway call."
    )
    payment_gateway_retries: int = Field(
        2, ge=0, le=5, description="Retries of a gateway call after 429, 5xx or a timeout."
    )
    refund_approval_above: int = Field(
        100_000,
        ge=0,
        description="Refunds above this amount (minor units, e.g. centavos) need staff approval.",
    )
    staff_alerts: str | None = Field(
        None,
        description="Where staff alerts and refund approvals go: channel:conversation "
        "(slack:C0123); only logged when unset.",
    )
    payments_admin_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated bearer keys of the refunds admin endpoint, each name:key "
        "(decisions record admin:<name>) or a plain key; closed when unset.",
    )

    # -- provider channels --
    telegram_token: SecretStr | None = Field(
        None, description="Telegram bot token from @BotFather; the Telegram channel is off unset."
    )
    telegram_mode: Literal["webhook", "polling"] = Field(
        "webhook", description="webhook (production, behind public_url) or polling (local dev)."
    )
    telegram_webhook_secret: SecretStr | None = Field(
        None,
        description="Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token; derived from "
        "secret_key when unset.",
    )
    telegram_api_url: str | None = Field(
        None, description="Bot API server base URL (a local server); api.telegram.org unset."
    )
    slack_bot_token: SecretStr | None = Field(
        None, description="Slack bot token (xoxb-...); the Slack channel is off unset."
    )
    slack_signing_secret: SecretStr | None = Field(
        None, description="Slack app signing secret that verifies every request from Slack."
    )
    slack_api_url: str | None = Field(
        None, description="Slack Web API base URL ending in /api/; slack.com unset."
    )
    discord_token: SecretStr | None = Field(
        None, description="Discord bot token; the Discord channel is off unset."
    )
    discord_api_url: str | None = Field(
        None, description="Discord REST base (…/api/v10) and gateway are Discord's unset."
    )
    discord_gateway_url: str | None = Field(
        None, description="Discord gateway ws:// URL; Discord's own unset."
    )
    handoff_address: str | None = Field(
        None,
        pattern=r"^[a-z]+:[^:\s]+$",
        description="Where guests' requests for a person go: channel:conversation "
        "(slack:C0123, telegram:-100123, discord:456); requests are only recorded unset.",
    )
    telegram_chat_interval_seconds: float = Field(
        1.0, ge=0, description="Least time between two proactive messages to one Telegram chat."
    )
    telegram_messages_per_second: float = Field(
        30.0, gt=0, description="Most proactive Telegram messages per second over all chats."
    )
    slack_channel_interval_seconds: float = Field(
        1.0, ge=0, description="Least time between two proactive messages to one Slack channel."
    )
    delivery_max_attempts: int = Field(
        5, ge=1, le=20, description="Tries of one provider message on 429/5xx before it is dropped."
    )

    # -- forecasts --
    forecast_models_dir: Path | None = Field(
        None,
        description="Where forecast model versions and the promoted list are kept; defaults to "
        "the models dir's forecasts folder.",
    )
    pricing_dir: Path = Field(
        PACKAGE_ROOT / "actions" / "forecasts" / "pricing",
        description="Folder of the properties' price limits (floors and ceilings per season), "
        "one YAML file per property slug.",
    )
    forecast_cache_seconds: int = Field(
        900, ge=0, description="How long a forecast answer is served from the cache."
    )

    rate_limits_file: Path = Field(
        PACKAGE_ROOT / "bot" / "ratelimits.yaml", description="Rate limit declarations."
    )
    experiments_file: Path = Field(
        PACKAGE_ROOT / "prompts" / "experiments.yaml", description="A/B experiment declarations."
    )

    dedupe_ttl_seconds: int = Field(
        900, ge=600, description="How long provider update ids are remembered."
    )
    session_ttl_seconds: int = Field(
        7 * 24 * 3600, gt=0, description="Idle time after which a conversation is forgotten."
    )
    session_max_bytes: int = Field(
        16_384, ge=1024, description="Largest serialized session; older history is dropped."
    )
    order_lease_seconds: float = Field(
        30.0, gt=0, description="How long a crashed turn blocks its conversation at most."
    )
    order_max_wait_seconds: float = Field(
        10.0, gt=0, description="How long a message waits for its turn before it is refused."
    )

    @field_validator(
        "api_keys",
        "allowed_origins",
        "staff_ids",
        "admin_ids",
        "payment_routes",
        "payments_admin_keys",
        "trusted_proxies",
        "ops_networks",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("secret_key", "ops_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker-compose passes `RSV_SECRET_KEY=` for a variable the operator left unset.
        if (
            isinstance(value, str | SecretStr)
            and not str(value.get_secret_value() if isinstance(value, SecretStr) else value).strip()
        ):
            return None
        return value

    @field_validator("trusted_proxies", "ops_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # a typo fails at start-up, not silently
        return value

    @property
    def model_directory(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def forecast_model_directory(self) -> Path:
        return self.forecast_models_dir or self.model_directory / "forecasts"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
