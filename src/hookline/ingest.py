"""Ingest: validate an event, then store it and one delivery per matching webhook in one
transaction shared with every other send in flight (group commit).

`plan_batch` is the pure core: given a batch of submissions and what the store knows (tenants,
webhook routes, earlier idempotency keys), it decides which events and deliveries to write and
what each caller gets back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from hookline import fanout, jsonvalue
from hookline.catalog import EventCatalog
from hookline.clock import Clock, system_clock
from hookline.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from hookline.groupcommit import Batcher
from hookline.models import TEST_EVENT_TYPE, SentEvent
from hookline.records import NewDelivery, NewEvent, Route
from hookline.store import Database
from hookline.store import batches as batch_rows
from hookline.store import deliveries as delivery_rows
from hookline.store import events as event_rows
from hookline.store import tenants as tenant_rows
from hookline.store import webhooks as webhook_rows
from hookline.store.database import retrying

BROADCAST_SCOPE = "*"


@dataclass(frozen=True, slots=True)
class Submission:
    event: NewEvent  # its tenant not yet resolved
    tenant_ref: str | None  # the tenant's id or uid; None broadcasts to every tenant
    envelope: dict[str, Any]
    idempotency_key: str | None = None
    request_hash: str | None = None


def scoped_key(tenant_id: str | None, key: str) -> str:
    """Idempotency keys are unique per tenant (and among broadcasts)."""
    return f"{tenant_id or BROADCAST_SCOPE}:{key}"


@dataclass(frozen=True, slots=True)
class Replay:
    """The earlier event a repeated idempotency key stands for."""

    event: SentEvent


# What a send produced, with the request hash its idempotency key was first used with.
Outcome = tuple[SentEvent | Replay | Exception, str | None]


@dataclass(slots=True)
class Plan:
    events: list[NewEvent] = field(default_factory=list)
    deliveries: list[NewDelivery] = field(default_factory=list)
    results: list[SentEvent | Replay | Exception] = field(default_factory=list)


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
    event = replace(
        sub.event, tenant_id=tenant_id, idempotency_key=key, request_hash=sub.request_hash
    )
    deliveries = fanout.deliveries(event, sub.envelope, routes)
    plan.events.append(event)
    plan.deliveries.extend(deliveries)
    return SentEvent(
        id=event.id,
        type=event.type,
        tenant_id=tenant_id,
        data=sub.envelope["data"],
        created_at=datetime.fromtimestamp(event.created_at, UTC),
        deliveries=len(deliveries),
    )


def _batch_sizes(routes: list[Route], new: list[NewDelivery]) -> dict[str, int]:
    """The batch webhooks that got deliveries, and their `max_events`."""
    receiving = {d.webhook_id for d in new}
    return {
        r.webhook_id: r.batch.max_events
        for r in routes
        if r.batch is not None and r.webhook_id in receiving
    }


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
        on_events: Callable[[list[NewEvent]], None] = lambda _: None,
        clock: Clock = system_clock,
    ) -> None:
        """`on_commit`: deliveries were queued; `on_events`: these events were stored."""
        self._db = db
        self._catalog = catalog
        self._clock = clock
        self._max_payload_bytes = max_payload_bytes
        self._idempotency_ttl = idempotency_ttl
        self._on_commit = on_commit
        self._on_events = on_events
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
        trace: str | None = None,
    ) -> SentEvent:
        """Store an event and fan it out. Returns once it is durable (committed). `trace`: the
        send span's trace context, kept with the event for its attempts' spans."""
        event, envelope = await self.prepare(event_type, data)
        return await self._batcher.submit(
            Submission(
                event=event if trace is None else replace(event, trace=trace),
                tenant_ref=tenant_id,
                envelope=envelope,
                idempotency_key=idempotency_key,
                request_hash=None if idempotency_key is None else _request_hash(event_type, data),
            )
        )

    async def prepare(
        self, event_type: str, data: Any, *, test: bool = False
    ) -> tuple[NewEvent, dict[str, Any]]:
        """An event checked against every rule a send must pass (plain JSON, the catalog and
        its schema, the size limit), not yet stored, and its envelope. A test send may use the
        reserved type `webhook.test`, which is in no catalog."""
        if not isinstance(data, dict):
            raise InvalidInput("data must be a JSON object", loc=("data",))
        jsonvalue.check(data, ("data",))
        if not (test and event_type == TEST_EVENT_TYPE):
            await self._catalog.check(event_type, data)
        now = round(self._clock(), 3)  # stored to the millisecond; answer with what is stored
        event, envelope = fanout.event(event_type, data, tenant_id=None, now=now, test=test)
        if len(event.payload) > self._max_payload_bytes:
            raise PayloadTooLarge(
                f"the event is {len(event.payload)} bytes as JSON; the limit is "
                f"{self._max_payload_bytes} (HOOKLINE_MAX_PAYLOAD_BYTES)"
            )
        return event, envelope

    async def _commit(self, batch: list[Submission]) -> list[SentEvent | Exception]:
        # A database restart takes well under a second: ride it out rather than answer 503.
        return await retrying(lambda: self._commit_once(batch), delays=(0.1, 0.3, 1.0))

    async def _commit_once(self, batch: list[Submission]) -> list[SentEvent | Exception]:
        refs = {s.tenant_ref for s in batch if s.tenant_ref is not None}
        broadcast = any(s.tenant_ref is None for s in batch)
        cutoff = self._clock() - self._idempotency_ttl
        async with self._db.write() as conn:
            tenants = await tenant_rows.resolve(conn, refs)
            routes = await webhook_rows.routes(conn, set(tenants.values()), everyone=broadcast)
            keys = {
                scoped_key(tenants.get(s.tenant_ref) if s.tenant_ref else None, s.idempotency_key)
                for s in batch
                if s.idempotency_key is not None
            }
            found = await event_rows.by_idempotency_keys(conn, keys)
            expired = {k for k, kept in found.items() if kept.event.created_at.timestamp() < cutoff}
            await event_rows.release_idempotency_keys(conn, expired)
            live = {k: kept for k, kept in found.items() if k not in expired}
            counts = await event_rows.delivery_counts(conn, {k.event.id for k in live.values()})
            earlier: dict[str, Outcome] = {
                key: (
                    SentEvent(**kept.event.model_dump(), deliveries=counts.get(kept.event.id, 0)),
                    kept.request_hash,
                )
                for key, kept in live.items()
            }
            plan = plan_batch(batch, tenants=tenants, routes=routes, earlier=earlier)
            await event_rows.insert_many(conn, plan.events)
            await delivery_rows.insert_many(conn, plan.deliveries)
            batched = _batch_sizes(routes, plan.deliveries)
            if batched:  # a batch that filled up goes now, not after its longest wait
                await batch_rows.release_full_batches(conn, batched, now=self._clock())
        self._on_events(plan.events)
        if plan.deliveries:
            self._on_commit()
        return [r.event if isinstance(r, Replay) else r for r in plan.results]
