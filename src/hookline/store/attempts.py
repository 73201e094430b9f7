from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.models import Attempt, Page, Trigger
from hookline.records import NewAttempt
from hookline.store.pages import fetch_page
from hookline.store.schema import AnyRow, attempts, values

RECORD_COLUMNS = tuple(attempts.c[name] for name in Attempt.model_fields)


def _attempt(row: AnyRow) -> Attempt:
    return Attempt.model_validate(dict(row._mapping))


async def insert_many(conn: AsyncConnection, new: list[NewAttempt]) -> None:
    if new:
        await conn.execute(insert(attempts), [values(a) for a in new])


async def page_for_delivery(
    conn: AsyncConnection, delivery_id: str, *, limit: int, cursor: str | None
) -> Page[Attempt]:
    query = select(*RECORD_COLUMNS).where(attempts.c.delivery_id == delivery_id)
    return await fetch_page(
        conn, query, attempts.c.id, limit=limit, cursor=cursor, convert=_attempt
    )


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
    succeeded = case((attempts.c.status_code.between(200, 299), 1), else_=0)
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
