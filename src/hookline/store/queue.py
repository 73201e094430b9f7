"""The webhooks in trouble: failing and disabled, as `hookline status` and the dashboard list
them. (How many deliveries wait is store/gauges.py's `queue`, shared with the metrics.)"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.models import TroubledWebhook
from hookline.store.schema import AnyRow, webhooks

# The columns a TroubledWebhook shows, named as its fields.
_TROUBLE_COLUMNS = tuple(webhooks.c[name] for name in TroubledWebhook.model_fields)


def _trouble(row: AnyRow) -> TroubledWebhook:
    return TroubledWebhook.model_validate(dict(row._mapping))


async def failing(conn: AsyncConnection) -> list[TroubledWebhook]:
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


async def disabled(conn: AsyncConnection) -> list[TroubledWebhook]:
    """Webhooks that are switched off (by hand, a 410, or too many failures), newest first."""
    stmt = (
        select(*_TROUBLE_COLUMNS)
        .where(webhooks.c.is_active == False)  # noqa: E712
        .order_by(webhooks.c.disabled_at.desc(), webhooks.c.id)
    )
    return [_trouble(row) for row in await conn.execute(stmt)]
