"""What the store-backed metrics read at scrape time: the queue, circuits, disabled webhooks.

Computed from the database on every scrape, so they are right however many processes share it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.store.schema import constant, deliveries, epoch, webhooks


@dataclass(frozen=True, slots=True)
class Queue:
    due: int  # pending, not leased, its time has come
    scheduled: int  # pending, not leased, waiting for its time (a retry, a throttle, a circuit)
    in_flight: int  # leased by a worker
    oldest_due_at: float | None  # epoch seconds: when the longest-waiting due delivery came due


async def queue(conn: AsyncConnection, now: float) -> Queue:
    """Counted on the partial indexes of pending deliveries (unordered, and FIFO), never on
    the table: a million finished deliveries cost nothing here."""
    due = scheduled = in_flight = 0
    oldest: float | None = None
    for ordered in (False, True):
        pending = (deliveries.c.status == constant("pending")) & (deliveries.c.ordered == ordered)
        free = deliveries.c.lease_token.is_(None)
        is_due = free & (deliveries.c.next_attempt_at <= now)
        row = (
            await conn.execute(
                select(
                    func.count().filter(is_due),
                    func.count().filter(free & (deliveries.c.next_attempt_at > now)),
                    func.count().filter(deliveries.c.lease_token.is_not(None)),
                    func.min(deliveries.c.next_attempt_at).filter(is_due),
                ).where(pending)
            )
        ).one()
        due, scheduled, in_flight = due + row[0], scheduled + row[1], in_flight + row[2]
        first = epoch(row[3])
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    return Queue(due=due, scheduled=scheduled, in_flight=in_flight, oldest_due_at=oldest)


async def circuits(conn: AsyncConnection) -> dict[str, str]:
    """Each webhook's stored circuit state (closed, half_open, open)."""
    stmt = select(webhooks.c.id, webhooks.c.circuit_state)
    return {row.id: row.circuit_state for row in await conn.execute(stmt)}


async def disabled(conn: AsyncConnection) -> int:
    stmt = select(func.count()).select_from(webhooks).where(webhooks.c.is_active.is_(False))
    return int((await conn.execute(stmt)).scalar() or 0)
