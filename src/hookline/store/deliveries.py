"""The delivery queue: claim under a lease, finish in batches, retry by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Text,
    bindparam,
    case,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.models import Delivery, DeliveryStatus, NumberedPage, Page, Paging, Trigger
from hookline.records import Claim, DeliveryUpdate, NewDelivery
from hookline.store.notify import announce
from hookline.store.pages import fetch_page
from hookline.store.schema import (
    BIND,
    AnyRow,
    Timestamp,
    binds,
    constant,
    deliveries,
    values,
    webhooks,
)

PENDING = DeliveryStatus.PENDING.value
FAILED = DeliveryStatus.FAILED.value
BLOCK = "block"


def _blocks_on_failure(webhook_id: Any) -> Any:
    """The webhook is FIFO with `fifo_on_failure: block`: a finally failed head holds its
    queue until it is retried or cancelled."""
    return exists().where(
        webhooks.c.id == webhook_id, webhooks.c.fifo_on_failure == constant(BLOCK)
    )


def _earlier(status: str, delivery: Any) -> Any:
    """The first ordered delivery of `delivery`'s webhook in `status` ahead of it (by id: ids
    are made in the order events were accepted)."""
    other = deliveries.alias(f"ahead_{status}")
    return (
        select(other.c.id)
        .where(
            other.c.webhook_id == delivery.c.webhook_id,
            other.c.status == constant(status),
            other.c.ordered == True,  # noqa: E712 (the partial index's own spelling)
            other.c.id < delivery.c.id,
        )
        .order_by(other.c.id)
        .limit(1)
        .scalar_subquery()
    )


def _blocked_by() -> Any:
    """A pending FIFO delivery that is not its queue's head: the head it waits for (with
    `block`, a failed head first). Computed when read."""
    failed = _earlier(FAILED, deliveries)
    return case(
        (
            (deliveries.c.status == PENDING) & (deliveries.c.ordered == True),  # noqa: E712
            func.coalesce(
                case((_blocks_on_failure(deliveries.c.webhook_id), failed), else_=None),
                _earlier(PENDING, deliveries),
            ),
        ),
        else_=None,
    ).label("blocked_by")


RECORD_COLUMNS = (
    *(deliveries.c[name] for name in Delivery.model_fields if name != "blocked_by"),
    _blocked_by(),
)


def _delivery(row: AnyRow) -> Delivery:
    return Delivery.model_validate(dict(row._mapping))


async def insert_many(conn: AsyncConnection, new: list[NewDelivery]) -> None:
    if new:
        await conn.execute(insert(deliveries), [values(d) for d in new])
        if any(d.status == DeliveryStatus.PENDING for d in new):
            await announce(conn)


async def get(conn: AsyncConnection, delivery_id: str, *, tenant_id: str | None) -> Delivery | None:
    stmt = select(*RECORD_COLUMNS).where(deliveries.c.id == delivery_id)
    if tenant_id is not None:
        stmt = stmt.where(deliveries.c.tenant_id == tenant_id)
    row = (await conn.execute(stmt)).one_or_none()
    return _delivery(row) if row else None


async def page(
    conn: AsyncConnection,
    *,
    tenant_id: str | None,
    event_id: str | None = None,
    webhook_id: str | None = None,
    status: DeliveryStatus | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    paging: Paging,
) -> Page[Delivery] | NumberedPage[Delivery]:
    query = select(*RECORD_COLUMNS)
    if event_type is not None:
        query = query.where(deliveries.c.event_type == event_type)
    if since is not None:
        query = query.where(deliveries.c.created_at >= since)
    if until is not None:
        query = query.where(deliveries.c.created_at < until)
    if tenant_id is not None:
        query = query.where(deliveries.c.tenant_id == tenant_id)
    if event_id is not None:
        query = query.where(deliveries.c.event_id == event_id)
    if webhook_id is not None:
        query = query.where(deliveries.c.webhook_id == webhook_id)
    if status is not None:
        query = query.where(deliveries.c.status == status.value)
    return await fetch_page(conn, query, deliveries.c.id, paging=paging, convert=_delivery)


# What a claim reads of each delivery it takes.
CLAIMED = (
    deliveries.c.id,
    deliveries.c.event_id,
    deliveries.c.webhook_id,
    deliveries.c.tenant_id,
    deliveries.c.event_type,
    deliveries.c.attempt_count,
    deliveries.c.trigger,
    deliveries.c.throttled,
    deliveries.c.batch_id,
)


def as_claim(row: AnyRow) -> Claim:
    return Claim(
        id=row.id,
        event_id=row.event_id,
        webhook_id=row.webhook_id,
        tenant_id=row.tenant_id,
        event_type=row.event_type,
        attempt_count=row.attempt_count,
        trigger=Trigger(row.trigger),
        throttled=row.throttled,
        batch_id=row.batch_id,
    )


async def claim(
    conn: AsyncConnection,
    *,
    now: float,
    lease_until: float,
    limit: int,
    token: str,
    skip_locked: bool,
    skip_webhooks: frozenset[str] = frozenset(),
    skip_tenants: frozenset[str] = frozenset(),
) -> list[Claim]:
    """Take up to `limit` due deliveries, passing over those of `skip_webhooks` and
    `skip_tenants` (the ones this worker has no room for): they become invisible to other
    workers until the lease ends, when they are due again unless `finish` ran first.

    FIFO heads go first (there is at most one per FIFO webhook), then unordered deliveries,
    oldest first. The two are separate statements on separate indexes, so a long FIFO queue
    waiting behind its head costs the claim of everything else nothing."""
    heads: list[Claim] = []
    if await _any_fifo(conn):
        heads = await _claim(
            conn,
            _due_heads(now),
            now,
            lease_until,
            limit,
            token,
            skip_locked,
            skip_webhooks,
            skip_tenants,
        )
    if len(heads) >= limit:
        return heads
    others = await _claim(
        conn,
        _due_unordered(now),
        now,
        lease_until,
        limit - len(heads),
        token,
        skip_locked,
        skip_webhooks,
        skip_tenants,
    )
    return heads + others


_ANY_FIFO = select(exists().where(webhooks.c.ordering == constant("fifo")))


async def _any_fifo(conn: AsyncConnection) -> bool:
    """Whether any webhook is FIFO: without one, the claim of heads is not even planned."""
    return bool((await conn.execute(_ANY_FIFO)).scalar())


def _due_unordered(now: float) -> Any:
    return select(deliveries.c.id).where(
        deliveries.c.status == constant(PENDING),
        deliveries.c.ordered == False,  # noqa: E712 (ix_deliveries_due's own spelling)
        deliveries.c.next_attempt_at <= now,
    )


def _due_heads(now: float) -> Any:
    """FIFO heads that may go now: for each FIFO webhook, its pending ordered delivery with the
    lowest id, if it is due, no other delivery of the webhook is in flight (one that came in
    late, after a later one was claimed), and, with `block`, no failed one is ahead of it."""
    queue = deliveries.alias("queue")
    head = (
        select(queue.c.id)
        .where(
            queue.c.webhook_id == webhooks.c.id,
            queue.c.status == constant(PENDING),
            queue.c.ordered == True,  # noqa: E712
        )
        .order_by(queue.c.id)
        .limit(1)
        .scalar_subquery()
    )
    fifo_heads = select(head).where(webhooks.c.ordering == constant("fifo"))
    other = deliveries.alias("in_flight")
    in_flight = exists().where(
        other.c.webhook_id == deliveries.c.webhook_id,
        other.c.lease_token.is_not(None),
        other.c.status == constant(PENDING),
        other.c.next_attempt_at > now,
        other.c.id != deliveries.c.id,
    )
    failed_ahead = _earlier(FAILED, deliveries).is_not(None) & _blocks_on_failure(
        deliveries.c.webhook_id
    )
    return select(deliveries.c.id).where(
        deliveries.c.id.in_(fifo_heads),
        deliveries.c.status == constant(PENDING),
        deliveries.c.next_attempt_at <= now,
        ~in_flight,
        ~failed_ahead,
    )


async def _claim(
    conn: AsyncConnection,
    due: Any,
    now: float,
    lease_until: float,
    limit: int,
    token: str,
    skip_locked: bool,
    skip_webhooks: frozenset[str],
    skip_tenants: frozenset[str],
) -> list[Claim]:
    due = due.order_by(deliveries.c.next_attempt_at).limit(limit)
    if skip_webhooks:
        due = due.where(deliveries.c.webhook_id.not_in(skip_webhooks))
    if skip_tenants:
        due = due.where(deliveries.c.tenant_id.not_in(skip_tenants))
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    stmt = (
        update(deliveries)
        .where(deliveries.c.id.in_(due.scalar_subquery()), deliveries.c.status == constant(PENDING))
        .values(lease_token=token, next_attempt_at=lease_until)
        .returning(*CLAIMED)
    )
    return [as_claim(row) for row in await conn.execute(stmt)]


def _defer(reserve: bool) -> Any:
    changes: dict[str, Any] = {
        "next_attempt_at": bindparam("b_next", type_=Timestamp),
        "lease_token": None,
    }
    if reserve:
        changes["throttled"] = True
    return (
        update(deliveries).where(deliveries.c.id == bindparam("b_id", type_=Text)).values(changes)
    )


_DEFER, _DEFER_RESERVED = _defer(False), _defer(True)


async def defer_many(conn: AsyncConnection, until: dict[str, float], *, reserve: bool) -> None:
    """Put claimed deliveries back, unattempted, until a time; `reserve`: they hold the
    rate-limit slot that time is."""
    if until:
        rows = [{"b_id": k, "b_next": v} for k, v in until.items()]
        await conn.execute(_DEFER_RESERVED if reserve else _DEFER, rows)


async def in_flight(
    conn: AsyncConnection, webhook_ids: set[str], *, now: float, exclude_prefix: str
) -> dict[str, int]:
    """Requests in flight per webhook: leased deliveries whose lease has not run out, except
    those whose lease token starts with `exclude_prefix` (the asking worker's own)."""
    if not webhook_ids:
        return {}
    stmt = (
        select(deliveries.c.webhook_id, func.count())
        .where(
            deliveries.c.webhook_id.in_(webhook_ids),
            deliveries.c.lease_token.is_not(None),
            ~deliveries.c.lease_token.startswith(exclude_prefix, autoescape=True),
            deliveries.c.status == PENDING,
            deliveries.c.next_attempt_at > now,
        )
        .group_by(deliveries.c.webhook_id)
    )
    return dict((await conn.execute(stmt)).all())


def _waiting(webhook_id: str) -> Any:
    return (
        (deliveries.c.webhook_id == webhook_id)
        & (deliveries.c.status == PENDING)
        & deliveries.c.lease_token.is_(None)
    )


async def hold_pending(conn: AsyncConnection, webhook_id: str, *, until: float) -> None:
    """An open circuit: a webhook's waiting deliveries wait until it may be probed."""
    stmt = update(deliveries).where(_waiting(webhook_id), deliveries.c.next_attempt_at < until)
    await conn.execute(stmt.values(next_attempt_at=until))


async def release_pending(
    conn: AsyncConnection, webhook_id: str, *, now: float, horizon: float
) -> None:
    """A closed circuit: what was held back (anything due within `horizon`) is due now."""
    stmt = update(deliveries).where(
        _waiting(webhook_id),
        deliveries.c.next_attempt_at <= now + horizon,
        deliveries.c.throttled.is_(False),  # reserved rate-limit slots keep their time
    )
    await conn.execute(stmt.values(next_attempt_at=now))
    await announce(conn)


_FINISH = (
    update(deliveries)
    .where(
        deliveries.c.id == bindparam(BIND + "id", type_=Text),
        deliveries.c.lease_token == bindparam(BIND + "token", type_=Text),
    )
    .values(
        status=bindparam(BIND + "status", type_=Text),
        attempt_count=bindparam(BIND + "attempt_count", type_=Integer),
        next_attempt_at=bindparam(BIND + "next_attempt_at", type_=Timestamp),
        last_status_code=bindparam(BIND + "last_status_code", type_=Integer),
        last_error=bindparam(BIND + "last_error", type_=Text),
        finished_at=bindparam(BIND + "finished_at", type_=Timestamp),
        trigger=Trigger.SCHEDULED.value,
        lease_token=None,
        throttled=False,
    )
)


async def finish_many(conn: AsyncConnection, updates: list[DeliveryUpdate]) -> None:
    """Write each delivery's next state; a delivery whose lease was lost is left alone."""
    if updates:
        await conn.execute(_FINISH, [binds(u) for u in updates])


async def retry_now(
    conn: AsyncConnection, delivery_id: str, *, tenant_id: str | None, now: float
) -> Delivery | None:
    """Make a delivery due now. A pending one keeps its schedule; a finished one gets one more
    attempt, marked manual."""
    current = await get(conn, delivery_id, tenant_id=tenant_id)
    if current is None:
        return None
    changes: dict[str, Any] = {"next_attempt_at": now, "lease_token": None}
    if current.status != DeliveryStatus.PENDING:
        changes |= {"status": PENDING, "trigger": Trigger.MANUAL.value, "finished_at": None}
    stmt = (
        update(deliveries)
        # A leased delivery is being attempted right now: leave it to finish.
        .where(
            deliveries.c.id == delivery_id,
            or_(deliveries.c.status != PENDING, deliveries.c.lease_token.is_(None)),
        )
        .values(changes)
    )
    await conn.execute(stmt)
    await announce(conn)
    return await get(conn, delivery_id, tenant_id=tenant_id)


async def cancel(
    conn: AsyncConnection, delivery_id: str, *, tenant_id: str | None, reason: str, now: float
) -> bool:
    """Cancel a delivery that is pending and not in flight, or failed: False when it is not
    (any more). A FIFO queue behind it moves on."""
    stmt = update(deliveries).where(
        deliveries.c.id == delivery_id,
        or_(
            deliveries.c.status == FAILED,
            (deliveries.c.status == PENDING)
            & or_(deliveries.c.lease_token.is_(None), deliveries.c.next_attempt_at <= now),
        ),
    )
    if tenant_id is not None:
        stmt = stmt.where(deliveries.c.tenant_id == tenant_id)
    changed = await conn.execute(
        stmt.values(
            status=DeliveryStatus.CANCELLED.value,
            last_error=reason,
            next_attempt_at=None,
            lease_token=None,
            throttled=False,
            finished_at=now,
        )
    )
    if changed.rowcount:
        await announce(conn)
    return bool(changed.rowcount)


async def set_ordered(conn: AsyncConnection, webhook_id: str, *, fifo: bool) -> None:
    """A webhook's `ordering` or `fifo_on_failure` changed: its pending deliveries follow the
    new ordering, and deliveries that failed before no longer hold its queue (with `block`,
    only a head that fails from now on does)."""
    await conn.execute(
        update(deliveries)
        .where(deliveries.c.webhook_id == webhook_id, deliveries.c.status == PENDING)
        .values(ordered=fifo)
    )
    await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.webhook_id == webhook_id,
            deliveries.c.status == FAILED,
            deliveries.c.ordered == True,  # noqa: E712
        )
        .values(ordered=False)
    )
    await announce(conn)


async def existing_ids(conn: AsyncConnection, delivery_ids: set[str]) -> set[str]:
    if not delivery_ids:
        return set()
    stmt = select(deliveries.c.id).where(deliveries.c.id.in_(delivery_ids))
    return set((await conn.execute(stmt)).scalars())


async def requeue_finished(
    conn: AsyncConnection, webhook_id: str, *, since: datetime, until: datetime, now: float
) -> int:
    """Queue a webhook's failed and cancelled deliveries from a time range again: one more
    attempt each (manual), now."""
    stmt = (
        update(deliveries)
        .where(
            deliveries.c.webhook_id == webhook_id,
            deliveries.c.status.in_([DeliveryStatus.FAILED.value, DeliveryStatus.CANCELLED.value]),
            deliveries.c.trigger != Trigger.TEST.value,
            deliveries.c.created_at >= since,
            deliveries.c.created_at < until,
        )
        .values(
            status=PENDING,
            trigger=Trigger.MANUAL.value,
            next_attempt_at=now,
            finished_at=None,
            lease_token=None,
        )
    )
    requeued = (await conn.execute(stmt)).rowcount
    if requeued:
        await announce(conn)
    return requeued


async def finished_ids(
    conn: AsyncConnection,
    *,
    status: DeliveryStatus,
    since: datetime,
    until: datetime,
    webhook_id: str | None,
) -> list[str]:
    """The deliveries (not test sends) in `status` created in [since, until), oldest first."""
    query = select(deliveries.c.id).where(
        deliveries.c.status == status.value,
        deliveries.c.trigger != Trigger.TEST.value,
        deliveries.c.created_at >= since,
        deliveries.c.created_at < until,
    )
    if webhook_id is not None:
        query = query.where(deliveries.c.webhook_id == webhook_id)
    return [str(row) for row in (await conn.execute(query.order_by(deliveries.c.id))).scalars()]


async def pending_count(conn: AsyncConnection, webhook_id: str) -> int:
    stmt = select(func.count()).where(
        deliveries.c.webhook_id == webhook_id, deliveries.c.status == PENDING
    )
    return int((await conn.execute(stmt)).scalar_one())
