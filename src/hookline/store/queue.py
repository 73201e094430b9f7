"""The webhooks in trouble: failing and disabled, as `hookline status` and the dashboard list
them. (How many deliveries wait is store/gauges.py's `queue`, shared with the metrics.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.models import TroubledWebhook
from hookline.store.schema import AnyRow, webhooks

# The columns a TroubledWebhook shows, named as its fields.
_TROUBLE_COLUMNS = tuple(webhooks.c[name] for name in TroubledWebhook.model_fields)


def _trouble(row: AnyRow) -> TroubledWebhook:
    return TroubledWebhook.model_validate(dict(row._mapping))


async def failing(
    conn: AsyncConnection, *, tenant_id: str | None = None, limit: int | None = None
) -> list[TroubledWebhook]:
    """Active webhooks (of `tenant_id`; None: every tenant's) whose circuit is not closed or
    whose last attempts failed, the longest failing first."""
    stmt = (
        select(*_TROUBLE_COLUMNS)
        .where(
            webhooks.c.is_active == True,  # noqa: E712
            (webhooks.c.circuit_state != "closed") | (webhooks.c.consecutive_failures > 0),
        )
        .order_by(webhooks.c.consecutive_failures.desc(), webhooks.c.id)
    )
    return await _troubled(conn, stmt, tenant_id, limit)


async def disabled(
    conn: AsyncConnection, *, tenant_id: str | None = None, limit: int | None = None
) -> list[TroubledWebhook]:
    """Webhooks (of `tenant_id`; None: every tenant's) that are switched off (by hand, a 410,
    or too many failures), newest first."""
    stmt = (
        select(*_TROUBLE_COLUMNS)
        .where(webhooks.c.is_active == False)  # noqa: E712
        .order_by(webhooks.c.disabled_at.desc(), webhooks.c.id)
    )
    return await _troubled(conn, stmt, tenant_id, limit)


async def _troubled(
    conn: AsyncConnection, stmt: Select[Any], tenant_id: str | None, limit: int | None
) -> list[TroubledWebhook]:
    if tenant_id is not None:
        stmt = stmt.where(webhooks.c.tenant_id == tenant_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_trouble(row) for row in await conn.execute(stmt)]
