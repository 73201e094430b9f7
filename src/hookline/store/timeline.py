"""Deliveries finished per time bucket: what the dashboard's charts draw."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import (
    BigInteger,
    Integer,
    case,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from hookline.models import DeliveryStatus
from hookline.records import Finishes
from hookline.store.schema import deliveries


async def finishes(
    conn: AsyncConnection,
    *,
    start: float,
    bucket: float,
    buckets: int,
    tenant_id: str | None,
    webhook_ids: Collection[str] | None = None,
) -> list[Finishes]:
    """Deliveries that succeeded and that finally failed per bucket of `bucket` seconds from
    `start` (`buckets` of them), only where there are some: per webhook of `webhook_ids`, or
    (None) summed over every webhook under the webhook id "*". Of one tenant's webhooks or
    (None) every tenant's."""
    start_ms, bucket_ms = round(start * 1000), round(bucket * 1000)
    finished = type_coerce(deliveries.c.finished_at, BigInteger)
    number = ((finished - start_ms) // bucket_ms).label("number")

    def count(status: DeliveryStatus) -> ColumnElement[int]:
        hit = case((deliveries.c.status == status.value, 1), else_=0)
        return func.coalesce(func.sum(hit.cast(Integer)), 0)

    per_webhook = webhook_ids is not None
    key = deliveries.c.webhook_id if per_webhook else literal("*")
    stmt = (
        select(
            key.label("webhook_id"),
            number,
            count(DeliveryStatus.SUCCEEDED).label("succeeded"),
            count(DeliveryStatus.FAILED).label("failed"),
        )
        .where(
            finished >= start_ms,
            finished < start_ms + buckets * bucket_ms,
            deliveries.c.status.in_([DeliveryStatus.SUCCEEDED.value, DeliveryStatus.FAILED.value]),
        )
        .group_by(*([deliveries.c.webhook_id] if per_webhook else []), number)
    )
    if tenant_id is not None:
        stmt = stmt.where(deliveries.c.tenant_id == tenant_id)
    if webhook_ids is not None:
        # SQLite's planner, without statistics, would rather walk each webhook's every
        # delivery (ix_deliveries_webhook_id_id) than the time range, which holds a day of
        # them: a unary plus (SQLite's own idiom) keeps it on ix_deliveries_finished.
        column = (
            literal_column("+deliveries.webhook_id")
            if conn.dialect.name == "sqlite"
            else deliveries.c.webhook_id
        )
        stmt = stmt.where(column.in_(webhook_ids))
    return [
        Finishes(row.webhook_id, int(row.number), int(row.succeeded), int(row.failed))
        for row in await conn.execute(stmt)
    ]
