"""The records the service layer returns and the inputs it accepts; the HTTP API, the CLI and
the Python client all speak these shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

EVENT_TYPE_PATTERN = r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$"
EventTypeName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=128, pattern=EVENT_TYPE_PATTERN
    ),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=256)]
RequiredName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)
]
Description = Annotated[str, StringConstraints(max_length=4000)]
WebhookFormat = Literal["standard"]

# The type of the events `POST /webhooks/{id}/test` sends (not in the catalog, never fanned out).
TEST_EVENT_TYPE = "webhook.test"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Trigger(StrEnum):
    SCHEDULED = "scheduled"
    MANUAL = "manual"
    TEST = "test"


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first; pass `next_cursor` as `cursor` for the next page."""

    data: list[T]
    next_cursor: str | None = None


# --- records --------------------------------------------------------------------------------


class Health(Record):
    status: str
    version: str
    database: str


class Tenant(Record):
    id: str
    uid: str | None
    name: str
    max_webhooks: int
    created_at: datetime
    updated_at: datetime


class EventType(Record):
    name: str
    description: str
    json_schema: dict[str, Any] | None = Field(alias="schema", serialization_alias="schema")
    archived: bool
    created_at: datetime
    updated_at: datetime


class Webhook(Record):
    id: str
    tenant_id: str
    name: str
    url: str
    description: str
    event_types: list[str]
    filter: dict[str, Any] | None
    headers: dict[str, str]
    format: str
    is_active: bool
    disabled_reason: str | None
    rate_limit_per_minute: int | None
    max_in_flight: int | None = Field(description="Null: HOOKLINE_MAX_IN_FLIGHT_PER_WEBHOOK.")
    circuit_state: Literal["closed", "open", "half_open"]
    circuit_retry_at: datetime | None = Field(
        description="While the circuit is open: when the next probe may go."
    )
    created_at: datetime
    updated_at: datetime
    last_triggered_at: datetime | None
    success_count: int
    failure_count: int
    consecutive_failures: int


class WebhookWithSecret(Webhook):
    """Returned by create and rotate only: the one time the secret is shown."""

    secret: str


class Event(Record):
    id: str
    type: str
    tenant_id: str | None
    data: Any
    created_at: datetime


class SentEvent(Event):
    deliveries: int = Field(description="How many deliveries the fan-out created.")
    duplicate: bool = Field(
        default=False,
        description="True when an earlier send with this idempotency key is replayed.",
    )


class Delivery(Record):
    id: str
    event_id: str
    webhook_id: str
    event_type: str
    status: DeliveryStatus
    trigger: Trigger = Field(
        description="`test`: a test send, which goes once and is never retried; `manual`: "
        "queued again by hand (retry, recover); otherwise `scheduled`."
    )
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class Attempt(Record):
    id: str
    delivery_id: str
    number: int
    status_code: int | None
    latency_ms: int
    response_body: str
    error: str | None
    trigger: Trigger
    created_at: datetime


class DeliveryWithAttempts(Delivery):
    """A delivery log entry: the delivery and every attempt it took, newest first."""

    attempts: list[Attempt]


class WindowStats(Record):
    attempts: int
    succeeded: int
    failed: int
    success_rate: float | None = Field(description="succeeded / attempts; null with no attempts")
    latency_ms_p50: int | None
    latency_ms_p95: int | None


class WebhookStats(Record):
    """A webhook's health (seed 004). Windows count delivery attempts, not test sends."""

    webhook_id: str
    is_active: bool
    disabled_reason: str | None
    success_count: int
    failure_count: int
    consecutive_failures: int
    last_triggered_at: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    pending: int = Field(description="Deliveries waiting for an attempt.")
    circuit_state: Literal["closed", "open", "half_open"]
    circuit_retry_at: datetime | None
    last_24h: WindowStats
    last_7d: WindowStats


class RecoveryResult(Record):
    requeued: int = Field(description="Failed or cancelled deliveries queued again.")
    created: int = Field(description="Deliveries created for matching events it never got.")


class ApiKey(Record):
    id: str
    tenant_id: str | None
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class CreatedApiKey(ApiKey):
    """Returned once, when the key is made: the full key is never stored or shown again."""

    key: str


class WebhookTestResult(Record):
    """What one test send got back (seed 004's shape), also when the receiver failed."""

    status: Literal["success", "failure"]
    status_code: int | None
    latency_ms: int
    response_body: str
    error: str | None
    event_id: str
    delivery_id: str


# --- inputs ---------------------------------------------------------------------------------


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TenantCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Acme Trading", "uid": "user_42", "max_webhooks": 5}]
        }
    )

    name: RequiredName
    uid: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
        | None
    ) = None
    max_webhooks: int = Field(default=100, ge=0, le=100_000)


class TenantUpdate(Input):
    name: RequiredName | None = None
    uid: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
        | None
    ) = None
    max_webhooks: int | None = Field(default=None, ge=0, le=100_000)


class ApiKeyCreate(Input):
    name: Name = ""


class EventTypeCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "LIQUIDATION_CASCADE",
                    "description": "Large rapid liquidations detected",
                    "schema": {
                        "type": "object",
                        "required": ["symbol", "velocity_usd_per_hour"],
                        "properties": {
                            "symbol": {"type": "string"},
                            "velocity_usd_per_hour": {"type": "number", "minimum": 0},
                        },
                    },
                }
            ]
        }
    )

    name: EventTypeName
    description: Description = ""
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")


class EventTypeUpdate(Input):
    """Only the fields present are changed; `schema: null` removes the schema."""

    description: Description | None = None
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    archived: bool | None = None


class WebhookCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant_id": "user_42",
                    "name": "Production Alert System",
                    "url": "https://your-domain.com/webhooks/exploits",
                    "event_types": ["exploit.detected"],
                    "filter": {
                        "data.amount_usd": {"$gte": 100000},
                        "data.chain": {"$iin": ["ethereum", "arbitrum"]},
                    },
                    "rate_limit_per_minute": 10,
                }
            ]
        }
    )

    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    tenant_id: str | None = Field(
        default=None, description="Required with an admin key; implied by a tenant key."
    )
    name: Name = ""
    description: Description = ""
    event_types: list[EventTypeName] = Field(
        default_factory=list, description="Subscribed event types; empty means every type."
    )
    filter: dict[str, Any] | None = Field(
        default=None,
        description="Deliver only events whose envelope matches, e.g. "
        '{"data.amount_usd": {"$gte": 100000}} (see docs/filters.md).',
    )
    headers: dict[str, str] = Field(default_factory=dict)
    format: WebhookFormat = "standard"
    is_active: bool = True
    secret: str | None = Field(
        default=None, description="Bring your own `whsec_...` secret; generated when omitted."
    )
    rate_limit_per_minute: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="Send at most this many requests a minute; the excess waits its turn.",
    )
    max_in_flight: int | None = Field(
        default=None, ge=1, le=10_000, description="At most this many requests at once."
    )


class WebhookUpdate(Input):
    """Only the fields present are changed."""

    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = None
    name: Name | None = None
    description: Description | None = None
    event_types: list[EventTypeName] | None = None
    filter: dict[str, Any] | None = Field(default=None, description="`null` removes the filter.")
    headers: dict[str, str] | None = None
    format: WebhookFormat | None = None
    is_active: bool | None = None
    rate_limit_per_minute: int | None = Field(
        default=None, ge=1, le=1_000_000, description="`null` removes the limit."
    )
    max_in_flight: int | None = Field(
        default=None, ge=1, le=10_000, description="`null`: the installation's default."
    )


class Recovery(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [{"since": "2026-11-21T00:00:00Z"}]})

    since: AwareDatetime = Field(description="Recover what was created at or after this instant.")
    until: AwareDatetime | None = Field(
        default=None, description="...and before this one (default: now)."
    )


class SecretRotation(Input):
    grace_seconds: int = Field(
        default=86_400,
        ge=0,
        le=7 * 86_400,
        description="How long the old secret keeps signing too (default 24 h, at most 7 days).",
    )
    secret: str | None = Field(
        default=None, description="Bring your own new `whsec_...` secret; generated when omitted."
    )


class WebhookTest(Input):
    event_type: EventTypeName | None = Field(
        default=None, description="Send an example of this type instead of `webhook.test`."
    )
    data: dict[str, Any] | None = Field(default=None, description="The example's data.")


class EventSend(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "order.filled",
                    "tenant_id": "user_42",
                    "data": {
                        "orderId": "ord_123",
                        "symbol": "BTCUSDT",
                        "side": "buy",
                        "amount": 0.1,
                        "price": 45000,
                        "exchange": "binance",
                    },
                }
            ]
        }
    )

    type: EventTypeName
    data: dict[str, Any]
    tenant_id: str | None = Field(
        default=None, description="The tenant whose webhooks receive it; omit to broadcast."
    )
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
