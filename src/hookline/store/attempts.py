from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.models import Attempt, NumberedPage, Page, Paging, Trigger
from hookline.records import NewAttempt
from hookline.store.pages import fetch_page
from hookline.store.schema import AnyRow, attempts, values, webhooks

RECORD_COLUMNS = tuple(attempts.c[name] for name in Attempt.model_fields)
# An attempt succeeded when it has no error: a 2xx, or a relay's or broker's acceptance (which
# has no HTTP status).
SUCCEEDED = attempts.c.error.is_(None)


def _attempt(row: AnyRow) -> Attempt:
    return Attempt.model_validate(dict(row._mapping))


async def insert_many(conn: AsyncConnection, new: list[NewAttempt]) -> None:
    if new:
        await conn.execute(insert(attempts), [values(a) for a in new])


async def page_for_delivery(
    conn: AsyncConnection, delivery_id: str, *, paging: Paging
) -> Page[Attempt] | NumberedPage[Attempt]:
    query = select(*RECORD_COLUMNS).where(attempts.c.delivery_id == delivery_id)
    return await fetch_page(conn, query, attempts.c.id, paging=paging, convert=_attempt)


async def for_deliveries(
    conn: AsyncConnection, delivery_ids: list[str]
) -> dict[str, list[Attempt]]:
    """Every attempt of these deliveries, newest first per delivery."""
    found: dict[str, list[Attempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    if delivery_ids:
        stmt = (
            select(*RECORD_COLUMNS)
            .where(attempts.c.delivery_id.in_(delivery_ids))
            .order_by(attempts.c.id.desc())
        )
        for row in await conn.execute(stmt):
            found[row.delivery_id].append(_attempt(row))
    return found


def _window(webhook_id: str, since: float) -> Any:
    return (
        (attempts.c.webhook_id == webhook_id)
        & (attempts.c.created_at >= since)
        & (attempts.c.trigger != Trigger.TEST.value)
    )


async def window_counts(conn: AsyncConnection, webhook_id: str, since: float) -> tuple[int, int]:
    """(attempts, successful attempts) since an instant, test sends excluded."""
    succeeded = case((SUCCEEDED, 1), else_=0)
    stmt = select(func.count(), func.coalesce(func.sum(succeeded.cast(Integer)), 0)).where(
        _window(webhook_id, since)
    )
    total, ok = (await conn.execute(stmt)).one()
    return int(total), int(ok)


async def latency_at_rank(conn: AsyncConnection, webhook_id: str, since: float, rank: int) -> int:
    """The `rank`-th smallest latency (0-based) since an instant."""
    stmt = (
        select(attempts.c.latency_ms)
        .where(_window(webhook_id, since))
        .order_by(attempts.c.latency_ms)
        .offset(rank)
        .limit(1)
    )
    return int((await conn.execute(stmt)).scalar_one())


def _recorded_since(since: float, tenant_id: str | None) -> Any:
    """Attempts recorded since an instant (test sends excluded), of one tenant's webhooks or
    (None) of every tenant's."""
    where = (attempts.c.created_at >= since) & (attempts.c.trigger != Trigger.TEST.value)
    if tenant_id is not None:
        where &= attempts.c.webhook_id.in_(
            select(webhooks.c.id).where(webhooks.c.tenant_id == tenant_id)
        )
    return where


async def counts_by_webhook(
    conn: AsyncConnection, since: float, *, tenant_id: str | None
) -> list[AnyRow]:
    """Per webhook with attempts since an instant: (webhook_id, tenant_id, name, url, total,
    succeeded), the webhooks in id order."""
    succeeded = case((SUCCEEDED, 1), else_=0)
    counted = (
        select(
            attempts.c.webhook_id,
            func.count().label("total"),
            func.coalesce(func.sum(succeeded.cast(Integer)), 0).label("succeeded"),
        )
        .where(_recorded_since(since, tenant_id))
        .group_by(attempts.c.webhook_id)
        .subquery()
    )
    stmt = (
        select(
            webhooks.c.id.label("webhook_id"),
            webhooks.c.tenant_id,
            webhooks.c.name,
            webhooks.c.url,
            counted.c.total,
            counted.c.succeeded,
        )
        .join(counted, counted.c.webhook_id == webhooks.c.id)
        .order_by(webhooks.c.id)
    )
    return list(await conn.execute(stmt))


async def latency_rank_since(
    conn: AsyncConnection, since: float, rank: int, *, tenant_id: str | None, webhook_id: str | None
) -> int | None:
    """The `rank`-th smallest latency (0-based) of the attempts since an instant: of one
    webhook, or (None) of every webhook in scope."""
    where = _recorded_since(since, tenant_id)
    if webhook_id is not None:
        where &= attempts.c.webhook_id == webhook_id
    stmt = (
        select(attempts.c.latency_ms)
        .where(where)
        .order_by(attempts.c.latency_ms)
        .offset(rank)
        .limit(1)
    )
    found = (await conn.execute(stmt)).scalar_one_or_none()
    return None if found is None else int(found)
