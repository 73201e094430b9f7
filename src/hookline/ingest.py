"""Ingest: validate an event, then store it and one delivery per matching webhook in one
transaction shared with every other send in flight (group commit).

`plan_batch` is the pure core: given a batch of submissions and what the store knows (tenants,
webhook routes, earlier idempotency keys), it decides which events and deliveries to write and
what each caller gets back.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from hookline import filters, ids
from hookline.batching import Batcher
from hookline.catalog import EventCatalog
from hookline.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from hookline.models import DeliveryStatus, SentEvent, Trigger
from hookline.store import Database
from hookline.store import deliveries as delivery_rows
from hookline.store import events as event_rows
from hookline.store import tenants as tenant_rows
from hookline.store import webhooks as webhook_rows
from hookline.store.database import retrying

BROADCAST_SCOPE = "*"


@dataclass(frozen=True, slots=True)
class Submission:
    event_id: str
    type: str
    tenant_ref: str | None  # the tenant's id or uid; None broadcasts to every tenant
    envelope: dict[str, Any]
    payload: str
    created_at: float
    idempotency_key: str | None = None
    request_hash: str | None = None


def scoped_key(tenant_id: str | None, key: str) -> str:
    """Idempotency keys are unique per tenant (and among broadcasts)."""
    return f"{tenant_id or BROADCAST_SCOPE}:{key}"


@dataclass(frozen=True, slots=True)
class Route:
    """A webhook as fan-out sees it: its tenant, subscribed types (none: all) and filter."""

    webhook_id: str
    tenant_id: str
    event_types: frozenset[str]
    filter: dict[str, Any] | None = None

    def matches(self, event_type: str, tenant_id: str | None, envelope: dict[str, Any]) -> bool:
        """Whether this webhook receives an event (of `tenant_id`; None: a broadcast)."""
        if tenant_id is not None and tenant_id != self.tenant_id:
            return False
        if self.event_types and event_type not in self.event_types:
            return False
        return self.filter is None or filters.matches(self.filter, envelope)

    def delivery(self, event_id: str, event_type: str, now: float) -> dict[str, Any]:
        """The queue row that sends one event to this webhook."""
        return {
            "id": ids.new_id(ids.DELIVERY, now),
            "event_id": event_id,
            "webhook_id": self.webhook_id,
            "tenant_id": self.tenant_id,
            "event_type": event_type,
            "status": DeliveryStatus.PENDING.value,
            "trigger": Trigger.SCHEDULED.value,
            "attempt_count": 0,
            "next_attempt_at": now,
            "created_at": now,
        }


@dataclass(frozen=True, slots=True)
class Replay:
    """The earlier event a repeated idempotency key stands for."""

    event: SentEvent


# What a send produced, with the request hash its idempotency key was first used with.
Outcome = tuple[SentEvent | Replay | Exception, str | None]


@dataclass(slots=True)
class Plan:
    events: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    results: list[SentEvent | Replay | Exception] = field(default_factory=list)


def iso_timestamp(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def make_envelope(
    event_id: str, event_type: str, data: Any, now: float
) -> tuple[dict[str, Any], bytes]:
    """The JSON every standard delivery of an event carries, and its exact bytes."""
    envelope = {"id": event_id, "type": event_type, "timestamp": iso_timestamp(now), "data": data}
    try:
        payload = orjson.dumps(envelope)
    except TypeError as exc:
        raise InvalidInput(f"data is not serializable as JSON: {exc}") from None
    return envelope, payload


def plan_batch(
    batch: list[Submission],
    *,
    tenants: dict[str, str],
    routes: list[Route],
    earlier: dict[str, Outcome],
) -> Plan:
    """Decide what one group commit writes. `tenants` maps tenant references to ids; `earlier`
    maps live scoped idempotency keys to what they produced."""
    plan = Plan()
    seen: dict[str, Outcome] = {}
    for sub in batch:
        tenant_id = tenants.get(sub.tenant_ref) if sub.tenant_ref is not None else None
        if sub.tenant_ref is not None and tenant_id is None:
            plan.results.append(
                NotFound(
                    f"tenant {sub.tenant_ref!r} does not exist; create it first, or omit "
                    "tenant_id to broadcast to every tenant"
                )
            )
            continue
        key = None if sub.idempotency_key is None else scoped_key(tenant_id, sub.idempotency_key)
        if key is not None:
            previous = seen.get(key) or earlier.get(key)
            if previous is not None:
                plan.results.append(_replay(previous, sub))
                continue
        result = _fan_out(plan, sub, tenant_id, key, routes)
        if key is not None:
            seen[key] = (result, sub.request_hash)
        plan.results.append(result)
    return plan


def _replay(previous: Outcome, sub: Submission) -> SentEvent | Replay | Exception:
    result, request_hash = previous
    if request_hash != sub.request_hash:
        return Conflict(
            "this Idempotency-Key was already used with a different request; use a new key "
            "for a new event"
        )
    if isinstance(result, Exception):
        return result
    event = result.event if isinstance(result, Replay) else result
    return Replay(event.model_copy(update={"duplicate": True}))


def _fan_out(
    plan: Plan, sub: Submission, tenant_id: str | None, key: str | None, routes: list[Route]
) -> SentEvent:
    matched = [route for route in routes if route.matches(sub.type, tenant_id, sub.envelope)]
    plan.events.append(
        {
            "id": sub.event_id,
            "tenant_id": tenant_id,
            "type": sub.type,
            "payload": sub.payload,
            "idempotency_key": key,
            "request_hash": sub.request_hash,
            "created_at": sub.created_at,
        }
    )
    plan.deliveries.extend(
        route.delivery(sub.event_id, sub.type, sub.created_at) for route in matched
    )
    return SentEvent(
        id=sub.event_id,
        type=sub.type,
        tenant_id=tenant_id,
        data=sub.envelope["data"],
        created_at=datetime.fromtimestamp(sub.created_at, UTC),
        deliveries=len(matched),
    )


def _request_hash(event_type: str, data: Any) -> str:
    canonical = orjson.dumps({"type": event_type, "data": data}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


class Ingestor:
    """`send` for every face of hookline: the HTTP API, the CLI and the embedded library."""

    def __init__(
        self,
        db: Database,
        catalog: EventCatalog,
        *,
        max_payload_bytes: int,
        idempotency_ttl: float,
        max_batch: int,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._max_payload_bytes = max_payload_bytes
        self._idempotency_ttl = idempotency_ttl
        self._on_commit = on_commit
        self._batcher: Batcher[Submission, SentEvent] = Batcher(
            self._commit, max_batch=max_batch, name="ingest"
        )

    def start(self) -> None:
        self._batcher.start()

    async def close(self) -> None:
        await self._batcher.close()

    async def send(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        tenant_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentEvent:
        """Store an event and fan it out. Returns once it is durable (committed)."""
        if not isinstance(data, dict):
            raise InvalidInput("data must be a JSON object")
        await self._catalog.check(event_type, data)
        now = round(time.time(), 3)  # stored to the millisecond; answer with what is stored
        event_id = ids.new_id(ids.EVENT, now)
        envelope, payload = make_envelope(event_id, event_type, data, now)
        if len(payload) > self._max_payload_bytes:
            raise PayloadTooLarge(
                f"the event is {len(payload)} bytes as JSON; the limit is "
                f"{self._max_payload_bytes} (HOOKLINE_MAX_PAYLOAD_BYTES)"
            )
        return await self._batcher.submit(
            Submission(
                event_id=event_id,
                type=event_type,
                tenant_ref=tenant_id,
                envelope=envelope,
                payload=payload.decode(),
                created_at=now,
                idempotency_key=idempotency_key,
                request_hash=None if idempotency_key is None else _request_hash(event_type, data),
            )
        )

    async def _commit(self, batch: list[Submission]) -> list[SentEvent | Exception]:
        # A database restart takes well under a second: ride it out rather than answer 503.
        return await retrying(lambda: self._commit_once(batch), delays=(0.1, 0.3, 1.0))

    async def _commit_once(self, batch: list[Submission]) -> list[SentEvent | Exception]:
        refs = {s.tenant_ref for s in batch if s.tenant_ref is not None}
        broadcast = any(s.tenant_ref is None for s in batch)
        cutoff = time.time() - self._idempotency_ttl
        async with self._db.write() as conn:
            tenants = await tenant_rows.resolve(conn, refs)
            route_rows = await webhook_rows.routes(conn, set(tenants.values()), everyone=broadcast)
            keys = {
                scoped_key(tenants.get(s.tenant_ref) if s.tenant_ref else None, s.idempotency_key)
                for s in batch
                if s.idempotency_key is not None
            }
            found = await event_rows.by_idempotency_keys(conn, keys)
            expired = {k for k, row in found.items() if row.created_at.timestamp() < cutoff}
            await event_rows.release_idempotency_keys(conn, expired)
            live = {k: row for k, row in found.items() if k not in expired}
            counts = await event_rows.delivery_counts(conn, {row.id for row in live.values()})
            earlier: dict[str, Outcome] = {
                key: (
                    SentEvent(
                        **event_rows.to_event(row).model_dump(), deliveries=counts.get(row.id, 0)
                    ),
                    row.request_hash,
                )
                for key, row in live.items()
            }
            plan = plan_batch(
                batch,
                tenants=tenants,
                routes=[
                    Route(r.id, r.tenant_id, frozenset(r.event_types), r.filter) for r in route_rows
                ],
                earlier=earlier,
            )
            await event_rows.insert_many(conn, plan.events)
            await delivery_rows.insert_many(conn, plan.deliveries)
        if plan.deliveries:
            self._on_commit()
        return [r.event if isinstance(r, Replay) else r for r in plan.results]
