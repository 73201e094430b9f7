from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, case, func, insert, or_, select
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


@dataclass(frozen=True, slots=True)
class Summary:
    """Attempts in a window: how many, how many succeeded, and the median and 95th percentile
    latency (nearest rank; None without attempts)."""

    total: int
    succeeded: int
    p50_ms: int | None
    p95_ms: int | None


async def _summary(conn: AsyncConnection, where: Any) -> Summary:
    """One pass: the window's attempts sorted by latency once, counted, and the two ranks
    picked (nearest rank: the ceil(p * n)-th smallest, in exact integer arithmetic)."""
    ok = case((SUCCEEDED, 1), else_=0)
    ranked = (
        select(
            attempts.c.latency_ms,
            func.row_number().over(order_by=attempts.c.latency_ms).label("rn"),
            func.count().over().label("total"),
            func.sum(ok.cast(Integer)).over().label("ok"),
        )
        .where(where)
        .subquery()
    )
    p50, p95 = (ranked.c.total + 1) // 2, (ranked.c.total * 95 + 99) // 100
    stmt = (
        select(ranked.c.latency_ms, ranked.c.total, ranked.c.ok)
        .where(or_(ranked.c.rn == p50, ranked.c.rn == p95))
        .order_by(ranked.c.rn)
    )
    rows = list(await conn.execute(stmt))
    if not rows:
        return Summary(0, 0, None, None)
    # The median's rank comes first; one row when both ranks are the same.
    first, last = rows[0], rows[-1]
    return Summary(int(first.total), int(first.ok), int(first.latency_ms), int(last.latency_ms))


async def window_summary(conn: AsyncConnection, webhook_id: str, since: float) -> Summary:
    """A webhook's attempts since an instant, test sends excluded."""
    return await _summary(conn, _window(webhook_id, since))


async def summary_since(
    conn: AsyncConnection, since: float, *, tenant_id: str | None, webhook_id: str | None
) -> Summary:
    """The attempts since an instant of one webhook, or (None) of every webhook in scope."""
    where = _recorded_since(since, tenant_id)
    if webhook_id is not None:
        where &= attempts.c.webhook_id == webhook_id
    return await _summary(conn, where)
