"""The queue as batch webhooks use it: bounds reached at ingest, batches gathered at claim, a
batch retried by hand. See docs/destinations.md.

A batch has one claimable delivery at a time, its *leader*: the one whose `next_attempt_at`
says when the batch is due. The other members wait with `next_attempt_at` null (they are never
due by themselves), so no worker can claim part of a batch, and a batch in flight counts as one
request for the in-flight cap.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.models import Delivery, DeliveryStatus, Trigger
from hookline.records import Claim
from hookline.store.deliveries import CLAIMED, RECORD_COLUMNS, as_claim
from hookline.store.notify import announce
from hookline.store.schema import deliveries

PENDING = DeliveryStatus.PENDING.value
# Written into the statement, not bound: a generic plan still matches ix_deliveries_waiting.
_PENDING: Any = literal_column(f"'{PENDING}'")


def _waiting(webhook_id: str) -> Any:
    """A batch webhook's deliveries that wait for their first batch."""
    return and_(
        deliveries.c.webhook_id == webhook_id,
        deliveries.c.status == _PENDING,
        deliveries.c.batch_id.is_(None),
        deliveries.c.attempt_count == 0,
    )


async def release_full_batches(
    conn: AsyncConnection, max_events: dict[str, int], *, now: float
) -> int:
    """Ingest, after fan-out: for each batch webhook (id -> its `max_events`) with at least
    `max_events` deliveries waiting, make the oldest whole batches of them due now (the rest
    keep waiting for their own bound). Returns how many became due."""
    released = 0
    for webhook_id, size in max_events.items():
        waiting = _waiting(webhook_id) & deliveries.c.lease_token.is_(None)
        count = (await conn.execute(select(func.count()).where(waiting))).scalar_one()
        full = (count // size) * size
        if not full:
            continue
        oldest = select(deliveries.c.id).where(waiting).order_by(deliveries.c.id).limit(full)
        stmt = (
            update(deliveries)
            .where(
                deliveries.c.id.in_(oldest.scalar_subquery()), deliveries.c.next_attempt_at > now
            )
            .values(next_attempt_at=now)
        )
        released += (await conn.execute(stmt)).rowcount
    if released:
        await announce(conn)
    return released


async def gather_waiting(
    conn: AsyncConnection,
    leader: Claim,
    *,
    batch_id: str,
    limit: int,
    token: str,
    skip_locked: bool,
) -> list[Claim]:
    """A new batch led by `leader` (claimed under `token`): up to `limit` more of its webhook's
    waiting deliveries, oldest first (unleased ones, or ones this claim holds), get `batch_id`
    and the lease. Returns them; the leader gets `batch_id` too."""
    await conn.execute(
        update(deliveries).where(deliveries.c.id == leader.id).values(batch_id=batch_id)
    )
    if limit <= 0:
        return []
    mates = (
        select(deliveries.c.id)
        .where(
            _waiting(leader.webhook_id),
            deliveries.c.id != leader.id,
            or_(deliveries.c.lease_token.is_(None), deliveries.c.lease_token == token),
        )
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    if skip_locked:  # another worker's claim holds it: it leads a batch of its own
        mates = mates.with_for_update(skip_locked=True)
    # Chosen first, then updated: as a subquery of the UPDATE, PostgreSQL may run the
    # LIMIT ... SKIP LOCKED again per row and take more than `limit`.
    chosen = list((await conn.execute(mates)).scalars())
    if not chosen:
        return []
    stmt = (
        update(deliveries)
        .where(
            deliveries.c.id.in_(chosen),
            deliveries.c.status == PENDING,
            deliveries.c.batch_id.is_(None),
        )
        .values(batch_id=batch_id, lease_token=token, next_attempt_at=None, throttled=False)
        .returning(*CLAIMED)
    )
    return [as_claim(row) for row in await conn.execute(stmt)]


async def gather_batch(conn: AsyncConnection, leader: Claim, *, token: str) -> list[Claim]:
    """The rest of the batch `leader` (claimed under `token`) was sent in before: every pending
    delivery of it, under the same lease."""
    stmt = (
        update(deliveries)
        .where(
            deliveries.c.webhook_id == leader.webhook_id,
            deliveries.c.batch_id == leader.batch_id,
            deliveries.c.status == PENDING,
            deliveries.c.id != leader.id,
        )
        .values(lease_token=token, next_attempt_at=None, throttled=False)
        .returning(*CLAIMED)
    )
    return [as_claim(row) for row in await conn.execute(stmt)]


async def park_many(conn: AsyncConnection, delivery_ids: set[str]) -> None:
    """Members of a batch claimed beside its leader: back to waiting for the leader."""
    if delivery_ids:
        stmt = (
            update(deliveries)
            .where(deliveries.c.id.in_(delivery_ids))
            .values(lease_token=None, next_attempt_at=None)
        )
        await conn.execute(stmt)


async def retry_batch(conn: AsyncConnection, current: Delivery, *, now: float) -> Delivery | None:
    """A manual retry of one member retries its whole batch, in one request with the same
    `webhook-id` (a receiver that keeps it as an idempotency key must see the same events under
    it): finished members get one more attempt (manual), and `current` leads the batch, due now.
    A batch in flight is left to finish. Returns `current` as it is now."""
    members = and_(
        deliveries.c.webhook_id == current.webhook_id,
        deliveries.c.batch_id == current.batch_id,
    )
    in_flight = select(func.count()).where(
        members,
        deliveries.c.status == PENDING,
        deliveries.c.lease_token.is_not(None),
        deliveries.c.next_attempt_at > now,
    )
    if (await conn.execute(in_flight)).scalar_one():
        return current
    await conn.execute(
        update(deliveries)
        .where(members, deliveries.c.status != PENDING, deliveries.c.trigger != Trigger.TEST.value)
        .values(status=PENDING, trigger=Trigger.MANUAL.value, finished_at=None)
    )
    await conn.execute(
        update(deliveries)
        .where(members, deliveries.c.status == PENDING)
        .values(lease_token=None, next_attempt_at=None)
    )
    stmt = (
        update(deliveries)
        .where(deliveries.c.id == current.id)
        .values(next_attempt_at=now)
        .returning(*RECORD_COLUMNS)
    )
    row = (await conn.execute(stmt)).one_or_none()
    await announce(conn)
    return Delivery.model_validate(dict(row._mapping)) if row else None


async def requeue_whole(conn: AsyncConnection, webhook_id: str, *, now: float) -> int:
    """After a recovery queued a webhook's failed and cancelled deliveries again: a batch goes
    again whole (members outside the recovered time range too) with one leader, so no part of
    it is ever sent under its id alone. Returns how many batches go again."""
    requeued = (
        select(deliveries.c.batch_id)
        .where(
            deliveries.c.webhook_id == webhook_id,
            deliveries.c.batch_id.is_not(None),
            deliveries.c.status == PENDING,
            deliveries.c.lease_token.is_(None),
            deliveries.c.trigger == Trigger.MANUAL.value,
            deliveries.c.next_attempt_at.is_not(None),
        )
        .distinct()
    )
    batch_ids = list((await conn.execute(requeued)).scalars())
    for batch_id in batch_ids:
        members = and_(deliveries.c.webhook_id == webhook_id, deliveries.c.batch_id == batch_id)
        await conn.execute(
            update(deliveries)
            .where(
                members,
                deliveries.c.status.in_(
                    [DeliveryStatus.FAILED.value, DeliveryStatus.CANCELLED.value]
                ),
            )
            .values(status=PENDING, trigger=Trigger.MANUAL.value, finished_at=None)
        )
        waiting = members & (deliveries.c.status == PENDING) & deliveries.c.lease_token.is_(None)
        leader = (await conn.execute(select(func.min(deliveries.c.id)).where(waiting))).scalar_one()
        await conn.execute(
            update(deliveries)
            .where(waiting, deliveries.c.id != leader)
            .values(next_attempt_at=None)
        )
        await conn.execute(
            update(deliveries).where(deliveries.c.id == leader).values(next_attempt_at=now)
        )
    return len(batch_ids)
