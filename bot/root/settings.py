"""Every setting of the bot, read from ``RSV_*`` environment variables and an optional ``.env``.

Only the composition root (``bot.root.app``) and the CLI construct :class:`Settings`. A
channel's or capability's own settings are a section defined beside what it configures
(``channels/telegram/settings.py``, ``actions/payments/settings.py``, …); their variables keep
flat names, ``RSV_<SECTION>_<FIELD>``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from actions.alerts.settings import AlertSettings
from actions.forecasts.settings import ForecastSettings
from actions.lifecycle.settings import LifecycleSettings
from actions.local.settings import LocalSettings
from actions.payments.settings import (
    MercadoPagoSettings,
    PaymentSettings,
    PayPalSettings,
    StripeSettings,
)
from actions.privacy.settings import PrivacySettings
from bot.jobs.settings import JobsSettings
from bot.partners.settings import PartnerSettings
from bot.stores.redis_url import parse_redis_url
from channels.console.settings import ConsoleSettings
from channels.discord.settings import DiscordSettings
from channels.email import SmtpSettings
from channels.slack.settings import SlackSettings
from channels.telegram.settings import TelegramSettings
from channels.whatsapp.settings import WhatsAppSettings
from intents.settings import LlmSettings

PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RSV_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # A section's settings keep flat names: RSV_TELEGRAM_TOKEN is telegram.token.
        env_nested_delimiter="_",
        env_nested_max_split=1,
    )

    telegram: TelegramSettings = TelegramSettings()
    slack: SlackSettings = SlackSettings()
    discord: DiscordSettings = DiscordSettings()
    whatsapp: WhatsAppSettings = WhatsAppSettings()
    payment: PaymentSettings = PaymentSettings()
    stripe: StripeSettings = StripeSettings()
    mercadopago: MercadoPagoSettings = MercadoPagoSettings()
    paypal: PayPalSettings = PayPalSettings()
    forecast: ForecastSettings = ForecastSettings()
    llm: LlmSettings = LlmSettings()
    jobs: JobsSettings = JobsSettings()
    alerts: AlertSettings = AlertSettings()
    smtp: SmtpSettings = SmtpSettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    privacy: PrivacySettings = PrivacySettings()
    partners: PartnerSettings = PartnerSettings()
    local: LocalSettings = LocalSettings()
    console: ConsoleSettings = ConsoleSettings()

    host: str = Field("127.0.0.1", description="Address `rsv360 serve` listens on.")
    port: int = Field(8080, ge=1, le=65535, description="Port `rsv360 serve` listens on.")
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Server processes `rsv360 serve` runs on the one port (SO_REUSEPORT); "
        "more than one needs redis_url and a PostgreSQL database_url.",
    )
    shutdown_seconds: float = Field(
        30.0,
        gt=0,
        description="On SIGTERM, how long turns in flight may take to finish before the "
        "server stops.",
    )
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
        description="redis:// (rediss://, or unix:///path for a socket) URL for sessions, limits, "
        "dedupe and order, or redis+cluster://host:port,host:port for a Redis Cluster; "
        "in-process when unset.",
    )
    redis_outage_seconds: float = Field(
        10.0,
        gt=0,
        le=120,
        description="How long a Redis command is retried through a restart or a cluster "
        "failover before the turn fails.",
    )

    redis_command_seconds: float = Field(
        5.0,
        gt=0,
        le=60,
        description="How long a Redis read waits for its answer before it counts as an outage "
        "(its connection is closed and the command retried); a wait for a conversation's turn "
        "may last order_max_wait_seconds on top.",
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

    # -- payments (the gateways are sections above) --
    refund_approval_above: int = Field(
        100_000,
        ge=0,
        description="Refunds above this amount (minor units, e.g. centavos) need staff approval.",
    )
    staff_alerts: str | None = Field(
        None,
        description="Without a routing file, where every alert goes (refund approvals and "
        "flagged payments included): slack:C0123, telegram:-100…, discord:…, whatsapp:…, "
        "email:address or a Slack webhook URL; unset, alerts are only stored and listed.",
    )
    payments_admin_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated bearer keys of the refunds admin endpoint, each name:key "
        "(decisions record admin:<name>) or a plain key; closed when unset.",
    )

    # -- provider channels (each is a section above) --
    handoff_address: str | None = Field(
        None,
        pattern=r"^[a-z]+:[^:\s]+$",
        description="Where guests' requests for a person go: channel:conversation "
        "(slack:C0123, telegram:-100123, discord:456); requests are only recorded unset.",
    )
    delivery_max_attempts: int = Field(
        5, ge=1, le=20, description="Tries of one provider message on 429/5xx before it is dropped."
    )

    pricing_dir: Path = Field(
        PACKAGE_ROOT / "actions" / "forecasts" / "pricing",
        description="Folder of the properties' price limits (floors and ceilings per season), "
        "one YAML file per property slug.",
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

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None:
            parse_redis_url(value)  # a malformed cluster URL fails at start-up, saying why
        return value

    @property
    def model_directory(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def forecast_model_directory(self) -> Path:
        return self.forecast.models_dir or self.model_directory / "forecasts"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
