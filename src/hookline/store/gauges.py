"""What the store-backed metrics read at scrape time: the queue, circuits, disabled webhooks.

Computed from the database on every scrape, so they are right however many processes share it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.store.schema import deliveries, epoch, webhooks


@dataclass(frozen=True, slots=True)
class Queue:
    due: int  # pending, not leased, its time has come
    scheduled: int  # pending, not leased, waiting for its time (a retry, a throttle, a circuit)
    in_flight: int  # leased by a worker
    oldest_due_at: float | None  # epoch seconds: when the longest-waiting due delivery came due


async def queue(conn: AsyncConnection, now: float) -> Queue:
    pending = deliveries.c.status == "pending"
    free = deliveries.c.lease_token.is_(None)
    due = pending & free & (deliveries.c.next_attempt_at <= now)
    scheduled = pending & free & (deliveries.c.next_attempt_at > now)
    row = (
        await conn.execute(
            select(
                func.count().filter(due),
                func.count().filter(scheduled),
                func.count().filter(pending & deliveries.c.lease_token.is_not(None)),
            ).where(pending)
        )
    ).one()
    oldest = (
        await conn.execute(select(func.min(deliveries.c.next_attempt_at)).where(due))
    ).scalar()
    return Queue(
        due=int(row[0] or 0),
        scheduled=int(row[1] or 0),
        in_flight=int(row[2] or 0),
        oldest_due_at=None if oldest is None else epoch(oldest),
    )


async def circuits(conn: AsyncConnection) -> dict[str, str]:
    """Each webhook's stored circuit state (closed, half_open, open)."""
    stmt = select(webhooks.c.id, webhooks.c.circuit_state)
    return {row.id: row.circuit_state for row in await conn.execute(stmt)}


async def disabled(conn: AsyncConnection) -> int:
    stmt = select(func.count()).select_from(webhooks).where(webhooks.c.is_active.is_(False))
    return int((await conn.execute(stmt)).scalar() or 0)
