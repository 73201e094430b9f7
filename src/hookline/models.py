"""The records the service layer returns and the inputs it accepts; the HTTP API, the CLI and
the Python client all speak these shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
)

from hookline.errors import InvalidInput
from hookline.schedule import check_delays

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
WebhookFormat = Literal["standard", "data", "template", "discord", "slack", "telegram", "email"]
ManagedBy = Literal["env", "file"]
Ordering = Literal["fifo"]
FifoOnFailure = Literal["skip", "block"]
GroupName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=128, pattern=EVENT_TYPE_PATTERN
    ),
]
# Seconds between attempts (len + 1 attempts in all), per webhook.
RetrySchedule = Annotated[list[StrictFloat], AfterValidator(check_delays)]
Template = Annotated[str, StringConstraints(min_length=1, max_length=64 * 1024)]

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


class Batch(BaseModel):
    """A webhook's batching: its due deliveries go together in one request when either bound
    is reached (docs/destinations.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_events: StrictInt = Field(default=100, ge=1, le=1000, description="At most this many.")
    max_wait_ms: StrictInt = Field(
        default=5000,
        ge=0,
        le=3_600_000,
        description="The longest the first event of a batch waits for others.",
    )


# --- paging ---------------------------------------------------------------------------------

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 250
MAX_PAGE = 1_000_000  # so that (page - 1) * page_size always fits a database's 64-bit offset


@dataclass(frozen=True)
class CursorPaging:
    """`limit` items after `cursor`: the `next_cursor` of the page before (None: the first)."""

    cursor: str | None = None
    limit: int = DEFAULT_PAGE_SIZE

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise InvalidInput(
                f"limit must be between 1 and {MAX_PAGE_SIZE}; got {self.limit}",
                loc=("query", "limit"),
            )


@dataclass(frozen=True)
class NumberedPaging:
    """Page `page` (from 1) of `page_size` items, with the total count."""

    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE:
            raise InvalidInput(
                f"page must be between 1 and {MAX_PAGE}; got {self.page}", loc=("query", "page")
            )
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise InvalidInput(
                f"page_size must be between 1 and {MAX_PAGE_SIZE}; got {self.page_size}",
                loc=("query", "page_size"),
            )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


Paging = CursorPaging | NumberedPaging
FIRST_PAGE = CursorPaging()


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first; pass `next_cursor` as `cursor` for the next page."""

    data: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )


class NumberedPage(BaseModel, Generic[T]):
    """Page `page` of a list (asked for with `?page=&page_size=`), newest first."""

    data: list[T]
    total: int = Field(description="How many items the whole list has.")
    page: int = Field(description="This page's number, from 1.")
    page_size: int


# --- problems (RFC 9457) --------------------------------------------------------------------


class ProblemError(BaseModel):
    loc: list[str | int] = Field(
        description='Where, as pydantic spells it: ["body", "data", "price"], ["query", "limit"].'
    )
    msg: str = Field(description="What is wrong there and what to send instead.")


class Problem(BaseModel):
    """An error, as `application/problem+json` (RFC 9457); `detail` says what to fix."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemError] = Field(
        default_factory=list, description="Each thing wrong with the request (400 and 422)."
    )


class ValidationProblem(Problem):
    """422: the request was understood, but its input is invalid; `errors` lists each place."""

    errors: list[ProblemError] = Field(min_length=1)


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
    managed_by: ManagedBy | None = Field(
        default=None,
        description="`file`: declared in HOOKLINE_CONFIG, and changed there only (the API "
        "answers 409).",
    )
    created_at: datetime
    updated_at: datetime


class EventType(Record):
    name: str
    description: str
    json_schema: dict[str, Any] | None = Field(alias="schema", serialization_alias="schema")
    group: str | None = Field(
        default=None, description="A group of types, e.g. seed 000's source CASCADE."
    )
    examples: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Example data objects; the first is what test sends and previews use.",
    )
    managed_by: ManagedBy | None = Field(
        default=None,
        description="`file`: declared in HOOKLINE_CONFIG, and changed there only (the API "
        "answers 409).",
    )
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
    format: WebhookFormat
    template: str | None = Field(default=None, description="The Jinja2 text of `template`.")
    format_options: dict[str, Any] | None = Field(
        default=None, description='Options of the format, e.g. telegram\'s {"chat_id": ...}.'
    )
    signature: dict[str, Any] | None = Field(
        default=None, description="The signature scheme; null: Standard Webhooks."
    )
    retry_schedule: list[float] | None = Field(
        default=None, description="Seconds between attempts; null: HOOKLINE_RETRY_SCHEDULE."
    )
    timeout: float | None = Field(
        default=None, description="Seconds per attempt; null: HOOKLINE_REQUEST_TIMEOUT."
    )
    managed_by: ManagedBy | None = Field(
        default=None,
        description="`env` or `file`: declared in hookline's configuration, and changed there "
        "only (the API answers 409).",
    )
    batch: Batch | None = Field(default=None, description="Null: each event alone.")
    ordering: Ordering | None = Field(
        default=None, description="`fifo`: one at a time, in the order events were accepted."
    )
    fifo_on_failure: FifoOnFailure = Field(
        default="skip",
        description="FIFO: after a delivery finally fails, `skip` it and go on, or `block` "
        "until it is retried or cancelled.",
    )
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


class WebhookPublicKeys(Record):
    """What receivers verify an ed25519 (Standard Webhooks v1a) webhook's signatures with."""

    public_keys: list[str] = Field(
        description="`whpk_...` keys, newest first; during a rotation's grace the old one too."
    )


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
    batch_id: str | None = Field(
        default=None, description="The batch it was sent in (the request's `webhook-id`)."
    )
    ordered: bool = Field(
        default=False, description="Its webhook is FIFO: sent one at a time, in order."
    )
    blocked_by: str | None = Field(
        default=None,
        description="A FIFO delivery waiting in line: the delivery at the head of its webhook's "
        "queue, which has to succeed, finally fail, or be cancelled first.",
    )


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


class AttemptCounts(Record):
    """Attempts recorded in a window (test sends not counted)."""

    total: int = Field(description="Attempts recorded in the window.")
    succeeded: int = Field(description="Attempts answered with a 2xx.")
    failed: int = Field(description="Every other attempt: another status, or no answer.")
    success_rate: float | None = Field(description="succeeded / total; null with no attempts")
    latency_p50_ms: int | None
    latency_p95_ms: int | None


class WebhookAttemptCounts(AttemptCounts):
    webhook_id: str
    tenant_id: str
    name: str
    url: str = Field(description="As the webhook shows it: credentials masked.")


class DeliveryStatistics(Record):
    """Attempts per webhook since an instant (seed 000's statistics), and their totals. Only
    webhooks with at least one attempt in the window are listed."""

    since: datetime
    until: datetime
    webhooks: list[WebhookAttemptCounts]
    totals: AttemptCounts


class QueueStatus(Record):
    due: int = Field(description="Pending deliveries that may go now.")
    in_flight: int = Field(description="Pending deliveries a worker holds now.")
    scheduled: int = Field(description="Pending deliveries waiting for a later attempt.")
    oldest_due_at: datetime | None
    oldest_due_age_s: float | None = Field(description="How long the oldest due one has waited.")


class TroubledWebhook(Record):
    id: str
    tenant_id: str
    name: str
    url: str
    circuit_state: str
    consecutive_failures: int
    failing_since: datetime | None
    disabled_reason: str | None
    disabled_at: datetime | None


class WorkerSeen(Record):
    id: str
    host: str
    pid: int
    started_at: datetime
    last_seen_at: datetime
    age_s: float = Field(description="Seconds since its last heartbeat.")
    alive: bool = Field(description="Its last heartbeat is recent (within 3 intervals).")


class InstallationStatus(Record):
    """What `hookline status` shows: is the queue moving, which webhooks are in trouble, which
    workers are alive."""

    at: datetime
    queue: QueueStatus
    failing_webhooks: list[TroubledWebhook]
    disabled_webhooks: list[TroubledWebhook]
    workers: list[WorkerSeen]


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
    max_webhooks: StrictInt = Field(default=100, ge=0, le=100_000)


class TenantUpdate(Input):
    name: RequiredName | None = None
    uid: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
        | None
    ) = None
    max_webhooks: StrictInt | None = Field(default=None, ge=0, le=100_000)


class ApiKeyCreate(Input):
    name: Name = ""


PORTAL_MIN_SECONDS, PORTAL_MAX_SECONDS = 10, 7 * 86_400


class PortalLinkCreate(Input):
    expires_in: StrictInt = Field(
        default=3600,
        ge=PORTAL_MIN_SECONDS,
        le=PORTAL_MAX_SECONDS,
        description="Seconds the link works for: 10 to 604800 (7 days).",
    )
    read_only: StrictBool = Field(
        default=False, description="The portal shows everything and changes nothing."
    )


class PortalLink(Record):
    """A link that signs a tenant's user into the portal: the dashboard's pages, limited to
    that tenant. Anyone holding it is signed in until it expires: hand it over as a secret."""

    url: str
    expires_at: datetime


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
    group: GroupName | None = None
    examples: list[dict[str, Any]] = Field(default_factory=list, max_length=20)


class EventTypeUpdate(Input):
    """Only the fields present are changed; `schema: null` removes the schema."""

    description: Description | None = None
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    archived: StrictBool | None = None
    group: GroupName | None = None
    examples: list[dict[str, Any]] | None = Field(default=None, max_length=20)


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
    format: WebhookFormat | None = Field(
        default=None,
        description="The body's shape (docs/formats.md); default: by URL (Discord, Slack, "
        "Telegram), else `standard`.",
    )
    template: Template | None = None
    format_options: dict[str, Any] | None = None
    signature: dict[str, Any] | None = Field(
        default=None,
        description='A signature scheme such as {"header": "X-Webhook-Signature"} or '
        '{"preset": "github"}; omit for Standard Webhooks (docs/formats.md).',
    )
    retry_schedule: RetrySchedule | None = None
    timeout: StrictFloat | None = Field(default=None, gt=0)
    is_active: StrictBool = True
    secret: str | None = Field(
        default=None,
        description="Bring your own secret (`whsec_...`; with a custom `signature`, any 16 to "
        "256 printable characters; `whsk_...` with ed25519); generated when omitted.",
    )
    rate_limit_per_minute: StrictInt | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="Send at most this many requests a minute; the excess waits its turn.",
    )
    max_in_flight: StrictInt | None = Field(
        default=None, ge=1, le=10_000, description="At most this many requests at once."
    )
    batch: Batch | None = Field(
        default=None,
        description='Send events together, e.g. {"max_events": 100, "max_wait_ms": 5000}.',
    )
    ordering: Ordering | None = Field(
        default=None, description="`fifo`: one at a time, in the order events were accepted."
    )
    fifo_on_failure: FifoOnFailure = "skip"


class WebhookUpdate(Input):
    """Only the fields present are changed."""

    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = None
    name: Name | None = None
    description: Description | None = None
    event_types: list[EventTypeName] | None = None
    filter: dict[str, Any] | None = Field(default=None, description="`null` removes the filter.")
    headers: dict[str, str] | None = None
    format: WebhookFormat | None = None
    template: Template | None = None
    format_options: dict[str, Any] | None = None
    signature: dict[str, Any] | None = Field(
        default=None, description="`null`: back to Standard Webhooks."
    )
    retry_schedule: RetrySchedule | None = Field(
        default=None, description="`null`: the installation's schedule."
    )
    timeout: StrictFloat | None = Field(default=None, gt=0, description="`null`: the default.")
    is_active: StrictBool | None = None
    rate_limit_per_minute: StrictInt | None = Field(
        default=None, ge=1, le=1_000_000, description="`null` removes the limit."
    )
    max_in_flight: StrictInt | None = Field(
        default=None, ge=1, le=10_000, description="`null`: the installation's default."
    )
    batch: Batch | None = Field(default=None, description="`null`: each event alone.")
    ordering: Ordering | None = Field(default=None, description="`null`: no order kept.")
    fifo_on_failure: FifoOnFailure | None = None


class DeliveryCancel(Input):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "order superseded by ord_124"}]}
    )

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = Field(
        default="", description="Why: kept as the delivery's last_error."
    )


class Recovery(Input):
    model_config = ConfigDict(json_schema_extra={"examples": [{"since": "2026-11-21T00:00:00Z"}]})

    since: AwareDatetime = Field(description="Recover what was created at or after this instant.")
    until: AwareDatetime | None = Field(
        default=None, description="...and before this one (default: now)."
    )


class SecretRotation(Input):
    grace_seconds: StrictInt = Field(
        default=86_400,
        ge=0,
        le=7 * 86_400,
        description="How long the old secret keeps signing too (default 24 h, at most 7 days).",
    )
    secret: str | None = Field(
        default=None,
        description="Bring your own new secret (`whsec_...`; with a custom `signature`, any 16 "
        "to 256 printable characters; `whsk_...` with ed25519); generated when omitted.",
    )


class WebhookTest(Input):
    event_type: EventTypeName | None = Field(
        default=None, description="Send an example of this type instead of `webhook.test`."
    )
    data: dict[str, Any] | None = Field(default=None, description="Default: its first example.")


class WebhookPreview(Input):
    event_type: EventTypeName = Field(description="The event type to render.")
    data: dict[str, Any] | None = Field(
        default=None, description="The event's data; default: the type's first example."
    )


class Preview(Record):
    """What a delivery would send, without sending it."""

    headers: dict[str, str]
    body: str = Field(
        description="Exactly the bytes that would be sent, as UTF-8 text (a mailto: webhook's "
        "text part, which the signature covers)."
    )
    subject: str | None = Field(default=None, description="mailto: the mail's subject.")
    html: str | None = Field(default=None, description="mailto: the mail's HTML part.")


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
