"""Configuration: `HOOKLINE_*` environment variables, a `.env` file, or keyword arguments."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from yarl import URL

MIN_ADMIN_KEY_LENGTH = 16
DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
DESTINATION_KINDS = ("https", "http", "mailto", "redis", "amqp", "nats")


class Settings(BaseSettings):
    """Every setting hookline reads, with its default. See docs/configuration.md."""

    # Inputs stay out of error texts: HOOKLINE_SMTP_URL and the keys hold secrets.
    model_config = SettingsConfigDict(
        env_prefix="HOOKLINE_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
    )

    database_url: str = "sqlite:///./hookline.db"
    database_pool_size: int = Field(default=10, ge=1, le=500)  # PostgreSQL, per process
    admin_key: SecretStr | None = None

    # Delivery
    retry_schedule: Annotated[tuple[float, ...], NoDecode] = DEFAULT_RETRY_SCHEDULE
    request_timeout: float = Field(default=15.0, gt=0, le=300)
    max_request_timeout: float = Field(default=60.0, gt=0, le=300)  # a webhook's own `timeout`
    retry_after_max: float = Field(default=3600.0, ge=0)
    lease_seconds: float | None = Field(default=None, gt=0)
    worker_concurrency: int = Field(default=256, ge=1, le=10_000)
    claim_batch_size: int = Field(default=200, ge=1, le=5_000)
    poll_interval: float = Field(default=1.0, gt=0, le=60)
    heartbeat_interval: float = Field(default=10.0, gt=0, le=300)  # a worker says it is alive
    log_format: Literal["text", "json"] = "text"  # serve/api/worker --log-format
    max_response_body_bytes: int = Field(default=20_000, ge=0, le=1_000_000)
    max_payload_bytes: int = Field(default=256 * 1024, ge=1024)

    # Network policy: --dev allows plain http and private/loopback targets.
    dev: bool = False
    allow_http: bool = False
    allowed_networks: Annotated[tuple[str, ...], NoDecode] = ()  # CIDRs opened on purpose

    # Protecting receivers
    circuit_breaker_failure_threshold: int = Field(
        default=5,
        ge=1,
        validation_alias=AliasChoices(
            "circuit_breaker_failure_threshold",
            "HOOKLINE_CIRCUIT_BREAKER_FAILURE_THRESHOLD",
            "WEBHOOK_CIRCUIT_BREAKER_FAILURE_THRESHOLD",
        ),
    )
    circuit_breaker_recovery_time: float = Field(
        default=60.0,
        gt=0,
        validation_alias=AliasChoices(
            "circuit_breaker_recovery_time",
            "HOOKLINE_CIRCUIT_BREAKER_RECOVERY_TIME",
            "WEBHOOK_CIRCUIT_BREAKER_RECOVERY_TIME",
        ),
    )
    max_in_flight_per_webhook: int = Field(default=64, ge=1, le=10_000)
    # No webhook may have more requests in flight than this (unset: a quarter of the worker's
    # concurrency), so one tenant's slow receiver cannot take every delivery slot.
    max_in_flight_ceiling: int | None = Field(default=None, ge=1, le=10_000)
    disable_after_failures: int = Field(default=10, ge=1)
    disable_after_seconds: float = Field(default=3600.0, ge=0)

    # Telling the platform: operational events go to this webhook, signed like any other.
    operator_webhook_url: str | None = None
    operator_webhook_secret: SecretStr | None = None

    # Secrets at rest: Fernet keys, comma-separated (the first encrypts, all decrypt); without
    # one, a key is generated into data_dir on first start.
    secret_key: SecretStr | None = None
    data_dir: Path = Path("./hookline-data")

    # Retention (seed 003: 30 days)
    retention_days: float = Field(default=30.0, gt=0)
    retention_interval: float = Field(default=300.0, gt=0)

    # Ingest
    tenant_keys_can_send: bool = False
    ingest_batch_size: int = Field(default=500, ge=1, le=10_000)
    idempotency_ttl: float = Field(default=24 * 3600.0, gt=0)

    # HTTP API protection
    api_rate_limit: float = Field(default=100.0, ge=0)  # requests/s per tenant key; 0: none
    admin_api_rate_limit: float = Field(default=0.0, ge=0)  # requests/s per admin key; 0: none
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)

    # Destinations beyond HTTP (docs/destinations.md). `destinations`: the URL kinds webhooks may
    # use (https, http, mailto, redis, amqp, nats); unset: https and http, and mailto when SMTP
    # is configured. Broker kinds are created with an admin key only.
    destinations: Annotated[tuple[str, ...] | None, NoDecode] = None
    smtp_url: SecretStr | None = None  # smtp://[user:pass@]host:port[?tls=required] | smtps://
    smtp_from: str | None = None
    destination_idle_timeout: float = Field(default=60.0, gt=0)  # close idle broker connections

    # Declared configuration: a TOML file of event types, tenants and webhooks, reconciled at
    # every start (docs/configuration.md).
    config: Path | None = None

    # Metrics (docs/operations.md): per-webhook series (circuit state) can be turned
    # off on installations with very many webhooks; a token, if set, guards /metrics.
    metrics_per_webhook: bool = True
    metrics_token: SecretStr | None = None

    # HTTP server
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # Where users reach hookline (portal links are made on it); unset: each request's own origin
    public_url: str | None = None

    # The dashboard (docs/ui.md): how long a session lasts without a request, the sites that
    # may embed the portal in an iframe, and the portal's branding.
    ui_session_idle: float = Field(default=8 * 3600.0, ge=60, le=30 * 86_400)
    portal_origins: Annotated[tuple[str, ...], NoDecode] = ()
    portal_brand_name: str = Field(default="hookline", min_length=1, max_length=80)
    portal_brand_logo_url: str | None = None
    portal_brand_color: str = "#4f46e5"

    @field_validator("admin_key", mode="before")
    @classmethod
    def _blank_key_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("admin_key")
    @classmethod
    def _check_admin_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_ADMIN_KEY_LENGTH:
            raise ValueError(
                f"HOOKLINE_ADMIN_KEY must be at least {MIN_ADMIN_KEY_LENGTH} characters; "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @field_validator("destinations", mode="before")
    @classmethod
    def _split_destinations(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @field_validator("destinations")
    @classmethod
    def _check_destinations(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        unknown = [kind for kind in value or () if kind not in DESTINATION_KINDS]
        if unknown:
            raise ValueError(
                f"HOOKLINE_DESTINATIONS: {unknown[0]!r} is not a destination kind; choose from "
                + ", ".join(DESTINATION_KINDS)
            )
        return value

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from hookline.destinations.smtp import parse_relay

            parse_relay(value.get_secret_value())  # a ValueError says what to fix
        return value

    @field_validator("smtp_from")
    @classmethod
    def _check_smtp_from(cls, value: str | None) -> str | None:
        if value is not None:
            from hookline.destinations.smtp import check_sender

            check_sender(value)
        return value

    @field_validator("portal_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("portal_origins")
    @classmethod
    def _check_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            url = URL(origin)
            if url.scheme not in ("http", "https") or not url.host or url.path not in ("", "/"):
                raise ValueError(
                    f"HOOKLINE_PORTAL_ORIGINS: {origin!r} is not an origin; name each site that "
                    "may embed the portal as scheme://host[:port], such as https://app.example.com"
                )
        return tuple(str(URL(origin).origin()) for origin in value)

    @field_validator("portal_brand_logo_url")
    @classmethod
    def _check_logo(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if URL(value.strip()).scheme != "https" and not value.startswith("/"):
            raise ValueError(
                "HOOKLINE_PORTAL_BRAND_LOGO_URL must be an https:// URL or a path on this server"
            )
        return value.strip()

    @field_validator("portal_brand_color")
    @classmethod
    def _check_color(cls, value: str) -> str:
        if not re.fullmatch(r"#(?:[0-9a-fA-F]{3}){1,2}", value.strip()):
            raise ValueError(
                "HOOKLINE_PORTAL_BRAND_COLOR must be a hex colour such as #4f46e5 or #46e"
            )
        return value.strip().lower()

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = URL(value.strip())
        if url.scheme not in ("http", "https") or not url.host or url.query_string or url.fragment:
            raise ValueError(
                "HOOKLINE_PUBLIC_URL must be where users reach hookline, an http(s) URL without "
                "query or fragment, such as https://hooks.example.com"
            )
        return str(url).rstrip("/")

    @model_validator(mode="after")
    def _check_mail_kind(self) -> Settings:
        if self.destinations is not None and "mailto" in self.destinations and not self.smtp_url:
            raise ValueError(
                "HOOKLINE_DESTINATIONS enables mailto, which sends through an SMTP relay: set "
                "HOOKLINE_SMTP_URL (smtp://[user:pass@]host:port), or drop mailto"
            )
        return self

    @field_validator("allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("allowed_networks")
    @classmethod
    def _check_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"HOOKLINE_ALLOWED_NETWORKS: {network!r} is not a CIDR network such as "
                    "10.0.0.0/8"
                ) from None
        return value

    @field_validator(
        "operator_webhook_url",
        "operator_webhook_secret",
        "secret_key",
        "config",
        "smtp_url",
        "smtp_from",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("retry_schedule", mode="before")
    @classmethod
    def _parse_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                return tuple(float(p) for p in parts)
            except ValueError:
                raise ValueError(
                    f"HOOKLINE_RETRY_SCHEDULE must be comma-separated seconds such as "
                    f"'5,300,1800'; got {value!r}"
                ) from None
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _check_schedule(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(delay < 0 for delay in value):
            raise ValueError("HOOKLINE_RETRY_SCHEDULE delays must not be negative")
        return value

    @model_validator(mode="after")
    def _check_lease(self) -> Settings:
        if self.lease_seconds is not None and self.lease_seconds <= self.longest_timeout:
            raise ValueError(
                f"HOOKLINE_LEASE_SECONDS ({self.lease_seconds}) must be longer than the longest "
                f"request timeout ({self.longest_timeout}: HOOKLINE_REQUEST_TIMEOUT or "
                "HOOKLINE_MAX_REQUEST_TIMEOUT), or a delivery still in flight could be claimed "
                "by a second worker"
            )
        return self

    @property
    def max_attempts(self) -> int:
        """The first attempt plus one per entry in the retry schedule."""
        return len(self.retry_schedule) + 1

    @property
    def in_flight_ceiling(self) -> int:
        """The most requests one webhook may have in flight."""
        if self.max_in_flight_ceiling is not None:
            return self.max_in_flight_ceiling
        return max(1, self.worker_concurrency // 4)

    @property
    def destination_kinds(self) -> frozenset[str]:
        """The URL kinds webhooks may use on this installation."""
        if self.destinations is not None:
            return frozenset(self.destinations)
        return frozenset({"https", "http", "mailto"} if self.smtp_url else {"https", "http"})

    @property
    def longest_timeout(self) -> float:
        """The longest an attempt may take: the default, or a webhook's own `timeout`."""
        return max(self.request_timeout, self.max_request_timeout)

    @property
    def lease(self) -> float:
        """How long a claimed delivery stays invisible to other workers."""
        if self.lease_seconds is not None:
            return self.lease_seconds
        return self.longest_timeout * 2 + 5.0
