"""The typed records that cross the store boundary on the delivery path.

The store reads rows and hands the core these records; the core hands records back and the store
writes them. No row, column or bind-parameter name crosses in either direction. Instants are epoch
seconds (floats), as everywhere in the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookline import filters
from hookline.circuit import Circuit
from hookline.models import DeliveryStatus, Event, Trigger

# --- written by ingest, notices, recovery and test sends (built by hookline.fanout) -----------


@dataclass(frozen=True, slots=True)
class NewEvent:
    id: str
    tenant_id: str | None  # None: a broadcast to every tenant
    type: str
    payload: str  # the exact JSON envelope standard deliveries send
    created_at: float
    idempotency_key: str | None = None  # scoped: see ingest.scoped_key
    request_hash: str | None = None
    test: bool = False  # a test send: never listed, recovered or replayed as an event
    trace: str | None = None  # the send's W3C trace context, as JSON (tracing.py)


@dataclass(frozen=True, slots=True)
class EventBody:
    """What an attempt sends of a stored event: its envelope, and its send's trace context."""

    payload: str
    trace: str | None = None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    id: str
    event_id: str
    webhook_id: str
    tenant_id: str
    event_type: str
    created_at: float
    next_attempt_at: float | None
    status: DeliveryStatus = DeliveryStatus.PENDING
    trigger: Trigger = Trigger.SCHEDULED
    attempt_count: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    finished_at: float | None = None
    ordered: bool = False  # its webhook is FIFO
    batch_id: str | None = None  # sent in this batch (a test send to a batch webhook)


@dataclass(frozen=True, slots=True)
class Batching:
    """A batch webhook's bounds: its waiting deliveries go together once `max_events` wait,
    or once the first of them has waited `max_wait` seconds."""

    max_events: int
    max_wait: float

    @classmethod
    def of(cls, stored: dict[str, int] | None) -> Batching | None:
        """From a webhook's `batch` column ({"max_events", "max_wait_ms"}; null: none)."""
        if not stored:
            return None
        return cls(int(stored["max_events"]), int(stored["max_wait_ms"]) / 1000)


@dataclass(frozen=True, slots=True)
class Route:
    """A webhook as fan-out sees it: its tenant, subscribed types (none: all) and filter, and
    whether it is FIFO (its deliveries are `ordered`)."""

    webhook_id: str
    tenant_id: str
    event_types: frozenset[str]
    filter: dict[str, Any] | None = None
    ordered: bool = False
    batch: Batching | None = None  # None: each event goes alone, at once

    def matches(self, event_type: str, tenant_id: str | None, envelope: dict[str, Any]) -> bool:
        """Whether this webhook receives an event (of `tenant_id`; None: a broadcast)."""
        if tenant_id is not None and tenant_id != self.tenant_id:
            return False
        if self.event_types and event_type not in self.event_types:
            return False
        return self.filter is None or filters.matches(self.filter, envelope)


@dataclass(frozen=True, slots=True)
class KeyedEvent:
    """An event stored under an idempotency key, and the hash of the request that made it."""

    event: Event
    request_hash: str | None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as recovery reads it back: what fan-out matches against."""

    id: str
    type: str
    envelope: dict[str, Any]


# --- read by the worker when it claims ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    """A due delivery this worker now holds under its lease."""

    id: str
    event_id: str
    webhook_id: str
    tenant_id: str
    event_type: str
    attempt_count: int
    trigger: Trigger
    throttled: bool  # holds a rate-limit slot from an earlier deferral
    batch_id: str | None = None  # sent before in this batch: retried with it


@dataclass(frozen=True, slots=True)
class WebhookGate:
    """What admission needs to know about a webhook."""

    id: str
    tenant_id: str
    circuit: Circuit
    max_in_flight: int | None  # None: the installation's default
    rate_limit_per_minute: int | None
    throttle_tat: float | None
    ordered: bool = False  # FIFO: one request at a time, whatever max_in_flight says
    batch: Batching | None = None  # a batch webhook: one request carries many deliveries


@dataclass(frozen=True, slots=True)
class SealedTarget:
    """A webhook as the worker sends to it, its secrets still encrypted."""

    id: str
    tenant_id: str
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: float | None
    headers: dict[str, str]
    format: str
    is_active: bool
    name: str = ""
    tenant_uid: str | None = None
    tenant_name: str = ""
    template: str | None = None
    format_options: dict[str, Any] | None = None
    signature: dict[str, Any] | None = None  # the expanded scheme; None: Standard Webhooks
    retry_schedule: tuple[float, ...] | None = None  # None: the installation's
    timeout: float | None = None  # None: the installation's
    url_sealed: str | None = None  # the URL with its credentials, sealed; `url` is masked
    batch: dict[str, int] | None = None  # {"max_events", "max_wait_ms"}; None: one at a time
    ordering: str | None = None  # "fifo"; None: no order kept
    fifo_on_failure: str = "skip"


# --- written by the worker when attempts end ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewAttempt:
    id: str
    delivery_id: str
    webhook_id: str
    number: int
    status_code: int | None
    latency_ms: int
    response_body: str
    error: str | None
    trigger: Trigger
    created_at: float


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    """A leased delivery's next state; ignored if the lease `token` is no longer its own."""

    id: str
    token: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: float | None
    last_status_code: int | None
    last_error: str | None
    finished_at: float | None


@dataclass(frozen=True, slots=True)
class Tally:
    """A batch of attempt results for one webhook, in the order they ended."""

    webhook_id: str
    successes: int
    failures: int
    reset: bool  # a success happened: the failure streak restarts after it
    streak: int  # failures after the last success (or all of them, without one)
    failing_since: float | None  # the first failure of that streak in this batch
    last_at: float
    last_success_at: float | None
    last_failure_at: float | None


@dataclass(frozen=True, slots=True)
class WebhookHealth:
    """A webhook's health once a batch of attempts is tallied: what the circuit breaker and the
    disable rules read."""

    id: str
    tenant_id: str
    url: str
    is_active: bool
    consecutive_failures: int
    failing_since: float | None
    circuit: Circuit
    recovered_notice_at: float | None = None  # when the operator last heard of each change
    disabled_notice_at: float | None = None


# --- worker heartbeats ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    """A worker process as its last heartbeat says (instants in epoch seconds)."""

    id: str
    host: str
    pid: int
    started_at: float
    last_seen_at: float


# --- read for the dashboard's charts ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finishes:
    """Deliveries of one webhook that finished in one time bucket (`number`, from 0)."""

    webhook_id: str
    number: int
    succeeded: int
    failed: int
