from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.models import DeliveryStatus, Event, NumberedPage, Page, Paging
from hookline.records import EventBody, KeyedEvent, NewEvent, StoredEvent
from hookline.store import tenants as tenant_rows
from hookline.store.pages import fetch_page
from hookline.store.schema import AnyRow, deliveries, events, values

RECORD_COLUMNS = (
    events.c.id,
    events.c.type,
    events.c.tenant_id,
    events.c.payload,
    events.c.created_at,
)


def to_event(row: AnyRow) -> Event:
    envelope = orjson.loads(row.payload)
    return Event(
        id=row.id,
        type=row.type,
        tenant_id=row.tenant_id,
        data=envelope.get("data"),
        created_at=row.created_at,
    )


async def insert_many(conn: AsyncConnection, new: list[NewEvent]) -> None:
    if new:
        await conn.execute(insert(events), [values(e) for e in new])


# Test sends are stored for their delivery log only: they are not events anyone sent.
_REAL = events.c.test.is_(False)


async def get(conn: AsyncConnection, event_id: str, *, tenant_id: str | None) -> Event | None:
    stmt = select(*RECORD_COLUMNS).where(events.c.id == event_id, _REAL)
    if tenant_id is not None:
        stmt = stmt.where(events.c.tenant_id == tenant_id)
    row = (await conn.execute(stmt)).one_or_none()
    return to_event(row) if row else None


async def page(
    conn: AsyncConnection,
    *,
    tenant_id: str | None,
    event_type: str | None,
    paging: Paging,
) -> Page[Event] | NumberedPage[Event]:
    query = select(*RECORD_COLUMNS).where(_REAL)
    if tenant_id is not None:
        query = query.where(events.c.tenant_id == tenant_id)
    else:
        query = query.where(
            or_(events.c.tenant_id.is_(None), events.c.tenant_id.not_in(tenant_rows.reserved_ids()))
        )
    if event_type is not None:
        query = query.where(events.c.type == event_type)
    return await fetch_page(conn, query, events.c.id, paging=paging, convert=to_event)


async def recent(
    conn: AsyncConnection, *, tenant_id: str | None, event_types: list[str], limit: int
) -> list[tuple[Event, dict[str, Any]]]:
    """The newest events a webhook of `tenant_id` is offered (its tenant's and broadcasts;
    None: every tenant's), of `event_types` (empty: every type), newest first, each with the
    envelope filters match against."""
    query = select(*RECORD_COLUMNS).where(_REAL)
    if tenant_id is not None:
        query = query.where(or_(events.c.tenant_id == tenant_id, events.c.tenant_id.is_(None)))
    if event_types:
        query = query.where(events.c.type.in_(event_types))
    rows = await conn.execute(query.order_by(events.c.id.desc()).limit(limit))
    return [(to_event(row), orjson.loads(row.payload)) for row in rows]


async def by_idempotency_keys(conn: AsyncConnection, keys: set[str]) -> dict[str, KeyedEvent]:
    if not keys:
        return {}
    stmt = select(*RECORD_COLUMNS, events.c.idempotency_key, events.c.request_hash).where(
        events.c.idempotency_key.in_(keys)
    )
    return {
        row.idempotency_key: KeyedEvent(to_event(row), row.request_hash)
        for row in await conn.execute(stmt)
    }


async def release_idempotency_keys(conn: AsyncConnection, keys: set[str]) -> None:
    """Expired keys are freed for reuse; the old events stay."""
    if keys:
        stmt = update(events).where(events.c.idempotency_key.in_(keys))
        await conn.execute(stmt.values(idempotency_key=None, request_hash=None))


async def delivery_counts(conn: AsyncConnection, event_ids: set[str]) -> dict[str, int]:
    if not event_ids:
        return {}
    stmt = (
        select(deliveries.c.event_id, func.count())
        .where(deliveries.c.event_id.in_(event_ids))
        .group_by(deliveries.c.event_id)
    )
    return dict((await conn.execute(stmt)).all())


async def bodies(conn: AsyncConnection, event_ids: set[str]) -> dict[str, EventBody]:
    stmt = select(events.c.id, events.c.payload, events.c.trace).where(events.c.id.in_(event_ids))
    return {row.id: EventBody(row.payload, row.trace) for row in await conn.execute(stmt)}


async def missed_by(
    conn: AsyncConnection,
    webhook_id: str,
    tenant_id: str,
    *,
    since: datetime,
    until: datetime,
    after: str,
    limit: int,
) -> list[StoredEvent]:
    """Events of a webhook's tenant (and broadcasts) in a time range that it has no delivery
    for, in id order from `after`: what `recover` considers sending. Never test sends."""
    delivered = exists().where(
        deliveries.c.event_id == events.c.id, deliveries.c.webhook_id == webhook_id
    )
    stmt = (
        select(events.c.id, events.c.type, events.c.payload)
        .where(
            _REAL,
            or_(events.c.tenant_id == tenant_id, events.c.tenant_id.is_(None)),
            events.c.created_at >= since,
            events.c.created_at < until,
            events.c.id > after,
            ~delivered,
        )
        .order_by(events.c.id)
        .limit(limit)
    )
    return [
        StoredEvent(row.id, row.type, orjson.loads(row.payload)) for row in await conn.execute(stmt)
    ]


async def purge_before(conn: AsyncConnection, cutoff: float, *, limit: int) -> int:
    """Delete up to `limit` events created before `cutoff`, with their deliveries and attempts
    (by cascade), except events that still have a delivery pending."""
    pending = exists().where(
        deliveries.c.event_id == events.c.id,
        deliveries.c.status == DeliveryStatus.PENDING.value,
    )
    oldest = (
        select(events.c.id)
        .where(events.c.created_at < cutoff, ~pending)
        .order_by(events.c.created_at)
        .limit(limit)
    )
    result = await conn.execute(delete(events).where(events.c.id.in_(oldest.scalar_subquery())))
    return result.rowcount
