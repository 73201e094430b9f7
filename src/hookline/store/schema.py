"""The tables. Every instant is stored as integer epoch milliseconds (the same on SQLite and
PostgreSQL, cheap to index and compare) and read back as an aware UTC `datetime`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, TypeAlias

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.engine import Row
from sqlalchemy.types import TypeDecorator

# A result row of any shape (SQLAlchemy 2.1 types rows by their columns).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]


class Timestamp(TypeDecorator[datetime]):
    """An instant: bound from an aware `datetime` or epoch seconds, read as an aware `datetime`."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
            return round(value.timestamp() * 1000)
        return round(float(value) * 1000)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return datetime.fromtimestamp(value / 1000, UTC)


def epoch(value: datetime | None) -> float | None:
    """An instant read from the store, as epoch seconds."""
    return None if value is None else value.timestamp()


def constant(value: str) -> Any:
    """A constant written into the statement, not bound: the query planners can then match
    the partial indexes' predicates (and PostgreSQL still plan a statement once)."""
    return literal_column(f"'{value}'")


def values(record: Any) -> dict[str, Any]:
    """A record (a dataclass from hookline.records) as the column values of its row: field names
    are column names."""
    return {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}


BIND = "b_"  # bind parameters of UPDATE statements: column names are taken by SET


def binds(record: Any) -> dict[str, Any]:
    """A record as the bind parameters of an executemany UPDATE whose parameters are named
    `b_<field>` (`bindparam(BIND + "field")`)."""
    return {BIND + name: value for name, value in values(record).items()}


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(40)

tenants = Table(
    "tenants",
    metadata,
    Column("id", ID, primary_key=True),
    Column("uid", String(256), nullable=True, unique=True),
    Column("name", String(256), nullable=False),
    Column("max_webhooks", Integer, nullable=False, server_default=text("100")),
    Column("managed_by", String(16), nullable=True),  # file: declared in HOOKLINE_CONFIG
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

# A key with no tenant is an admin key. Only a lookup prefix and a digest are stored.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("tenant_id", ID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True),
    Column("name", String(256), nullable=False, server_default=""),
    Column("prefix", String(32), nullable=False, unique=True),
    Column("digest", String(64), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("last_used_at", Timestamp, nullable=True),
    Column("expires_at", Timestamp, nullable=True),
    Column("revoked_at", Timestamp, nullable=True),
    Index(None, "tenant_id"),
)

event_types = Table(
    "event_types",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("schema", JSON, nullable=True),
    Column("group", String(128), nullable=True),
    Column("examples", JSON, nullable=True),
    Column("managed_by", String(16), nullable=True),  # file: declared in HOOKLINE_CONFIG
    Column("archived", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", ID, primary_key=True),
    Column("tenant_id", ID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(256), nullable=False, server_default=""),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("event_types", JSON, nullable=False),  # [] = every type
    Column("filter", JSON, nullable=True),
    Column("headers", JSON, nullable=False),
    Column("format", String(32), nullable=False, server_default="standard"),
    Column("format_options", JSON, nullable=True),
    Column("template", Text, nullable=True),
    Column("signature", JSON, nullable=True),  # the expanded scheme; null: Standard Webhooks
    Column("retry_schedule", JSON, nullable=True),
    Column("timeout", Float, nullable=True),
    Column("managed_by", String(16), nullable=True),  # env | file: declared in configuration
    # What the declaration is called there (hookline.declared), to find it again at each start.
    Column("managed_key", String(512), nullable=True),
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text, nullable=True),
    Column("previous_secret_expires_at", Timestamp, nullable=True),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("disabled_reason", Text, nullable=True),
    Column("disabled_at", Timestamp, nullable=True),
    Column("rate_limit_per_minute", Integer, nullable=True),
    Column("throttle_tat", Timestamp, nullable=True),  # see hookline.throttle
    Column("max_in_flight", Integer, nullable=True),
    Column("url_sealed", Text, nullable=True),  # the URL with its credentials, encrypted
    Column("batch", JSON, nullable=True),  # {"max_events", "max_wait_ms"}; null: one at a time
    Column("ordering", String(8), nullable=True),  # fifo; null: no order kept
    Column("fifo_on_failure", String(8), nullable=False, server_default="skip"),  # or block
    Column("success_count", BigInteger, nullable=False, server_default=text("0")),
    Column("failure_count", BigInteger, nullable=False, server_default=text("0")),
    Column("consecutive_failures", Integer, nullable=False, server_default=text("0")),
    Column("failing_since", Timestamp, nullable=True),
    Column("last_triggered_at", Timestamp, nullable=True),
    Column("last_success_at", Timestamp, nullable=True),
    Column("last_failure_at", Timestamp, nullable=True),
    Column("circuit_state", String(16), nullable=False, server_default="closed"),
    Column("circuit_retry_at", Timestamp, nullable=True),
    # When the operator was last told this webhook recovered / was disabled (one notice per
    # change per hour at most: a flapping circuit must not flood the operator).
    Column("recovered_notice_at", Timestamp, nullable=True),
    Column("disabled_notice_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Index(None, "tenant_id", "id"),
    Index(None, "managed_key", unique=True),
    # The FIFO webhooks, whose queue heads every claim looks up.
    Index(
        "ix_webhooks_fifo",
        "id",
        sqlite_where=text("ordering = 'fifo'"),
        postgresql_where=text("ordering = 'fifo'"),
    ),
)

# `payload` is the exact JSON envelope every standard-format delivery sends and signs.
events = Table(
    "events",
    metadata,
    Column("id", ID, primary_key=True),
    Column("tenant_id", ID, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True),
    Column("type", String(128), nullable=False),
    Column("payload", Text, nullable=False),
    Column("idempotency_key", String(400), nullable=True, unique=True),
    Column("request_hash", String(64), nullable=True),
    # A test send (POST /webhooks/{id}/test): delivered once, never listed, recovered or
    # replayed as an event.
    Column("test", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", Timestamp, nullable=False),
    # With traces on (tracing.py): the send span's W3C trace context (`traceparent`, and
    # `tracestate` if any) as JSON, the parent of every attempt's span.
    Column("trace", Text, nullable=True),
    Index(None, "tenant_id", "id"),
    Index(None, "created_at"),
)

# The queue. A pending delivery is due when `next_attempt_at` has passed; claiming it pushes
# `next_attempt_at` to the end of the lease, so a crashed worker's deliveries come back by
# themselves when the lease runs out.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("event_id", ID, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("webhook_id", ID, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", ID, nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("trigger", String(16), nullable=False, server_default="scheduled"),
    Column("attempt_count", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", Timestamp, nullable=True),
    Column("lease_token", String(40), nullable=True),
    # Waiting for a throttle slot it already holds: admitted without spending another.
    Column("throttled", Boolean, nullable=False, server_default=text("false")),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp, nullable=True),
    # Sent in one request with the other deliveries of its batch, and retried with them.
    Column("batch_id", String(40), nullable=True),
    # Its webhook is FIFO: claimed only as the head of the webhook's queue (the pending ordered
    # delivery with the lowest id), one at a time (see store.deliveries.claim).
    Column("ordered", Boolean, nullable=False, server_default=text("false")),
    UniqueConstraint("event_id", "webhook_id"),
    Index(None, "webhook_id", "id"),
    # Requests in flight per webhook (a lease is cleared when its attempt is recorded).
    Index(
        "ix_deliveries_leased",
        "webhook_id",
        sqlite_where=text("lease_token IS NOT NULL"),
        postgresql_where=text("lease_token IS NOT NULL"),
    ),
    # A batch webhook's deliveries waiting for their first batch, and a batch's members.
    Index(
        "ix_deliveries_waiting",
        "webhook_id",
        "id",
        sqlite_where=text("status = 'pending' AND batch_id IS NULL"),
        postgresql_where=text("status = 'pending' AND batch_id IS NULL"),
    ),
    Index(
        "ix_deliveries_batch",
        "batch_id",
        sqlite_where=text("batch_id IS NOT NULL"),
        postgresql_where=text("batch_id IS NOT NULL"),
    ),
    # Due unordered deliveries, oldest first: FIFO deliveries waiting behind their head are
    # not in it, so a long FIFO queue never slows the claim of everything else.
    Index(
        "ix_deliveries_due",
        "next_attempt_at",
        sqlite_where=text("status = 'pending' AND ordered = 0"),
        postgresql_where=text("status = 'pending' AND NOT ordered"),
    ),
    # FIFO queues: a webhook's pending ordered deliveries in order (its head first), and its
    # failed ones (with `block`, the failed head holds the queue).
    Index(
        "ix_deliveries_fifo",
        "webhook_id",
        "id",
        sqlite_where=text("status = 'pending' AND ordered = 1"),
        postgresql_where=text("status = 'pending' AND ordered"),
    ),
    # Deliveries finished in a time range: the dashboard's charts (store.timeline), read from
    # the index alone.
    Index(
        "ix_deliveries_finished",
        "finished_at",
        "webhook_id",
        "tenant_id",
        "status",
        sqlite_where=text("finished_at IS NOT NULL"),
        postgresql_where=text("finished_at IS NOT NULL"),
    ),
    Index(
        "ix_deliveries_fifo_failed",
        "webhook_id",
        "id",
        sqlite_where=text("status = 'failed' AND ordered = 1"),
        postgresql_where=text("status = 'failed' AND ordered"),
    ),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("delivery_id", ID, ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("webhook_id", ID, nullable=False),
    Column("number", Integer, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Integer, nullable=False),
    Column("response_body", Text, nullable=False, server_default=""),
    Column("error", Text, nullable=True),
    Column("trigger", String(16), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Index(None, "delivery_id", "id"),
    Index(None, "webhook_id", "created_at"),
    # Attempts in a time range of every webhook: statistics and the dashboard's overview.
    Index(None, "created_at"),
)


# Worker processes, as their heartbeats say: /ready, metrics and `hookline status` read them.
workers = Table(
    "workers",
    metadata,
    Column("id", ID, primary_key=True),
    Column("host", String(256), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", Timestamp, nullable=False),
    Column("last_seen_at", Timestamp, nullable=False),
    Index(None, "last_seen_at"),
)
