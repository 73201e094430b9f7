"""The webhooks in trouble: failing and disabled, as `hookline status` and the dashboard list
them. (How many deliveries wait is store/gauges.py's `queue`, shared with the metrics.)"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.records import WebhookTrouble
from hookline.store.schema import AnyRow, epoch, webhooks


def _trouble(row: AnyRow) -> WebhookTrouble:
    return WebhookTrouble(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        url=row.url,
        circuit_state=row.circuit_state,
        consecutive_failures=row.consecutive_failures,
        failing_since=epoch(row.failing_since),
        disabled_reason=row.disabled_reason,
        disabled_at=epoch(row.disabled_at),
    )


_TROUBLE_COLUMNS = (
    webhooks.c.id,
    webhooks.c.tenant_id,
    webhooks.c.name,
    webhooks.c.url,
    webhooks.c.circuit_state,
    webhooks.c.consecutive_failures,
    webhooks.c.failing_since,
    webhooks.c.disabled_reason,
    webhooks.c.disabled_at,
)


async def failing(conn: AsyncConnection) -> list[WebhookTrouble]:
    """Active webhooks whose circuit is not closed or whose last attempts failed, the longest
    failing first."""
    stmt = (
        select(*_TROUBLE_COLUMNS)
        .where(
            webhooks.c.is_active == True,  # noqa: E712
            (webhooks.c.circuit_state != "closed") | (webhooks.c.consecutive_failures > 0),
        )
        .order_by(webhooks.c.consecutive_failures.desc(), webhooks.c.id)
    )
    return [_trouble(row) for row in await conn.execute(stmt)]


async def disabled(conn: AsyncConnection) -> list[WebhookTrouble]:
    """Webhooks that are switched off (by hand, a 410, or too many failures), newest first."""
    stmt = (
        select(*_TROUBLE_COLUMNS)
        .where(webhooks.c.is_active == False)  # noqa: E712
        .order_by(webhooks.c.disabled_at.desc(), webhooks.c.id)
    )
    return [_trouble(row) for row in await conn.execute(stmt)]
