"""Operational events: what hookline tells the platform about its webhooks.

`webhook.disabled`, `delivery.exhausted` and `webhook.recovered` are stored as events of the
reserved operator tenant (uid `hookline:operator`), in the same transaction as what they report,
and fanned out to that tenant's webhooks, which `HOOKLINE_OPERATOR_WEBHOOK_URL` configures: they
are signed, retried and logged like any delivery. The API lists them as that tenant's events.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hookline import fanout
from hookline.store import deliveries as delivery_rows
from hookline.store import events as event_rows
from hookline.store import tenants as tenant_rows
from hookline.store import webhooks as webhook_rows

OPERATOR_UID = "hookline:operator"
RESERVED_UID_PREFIX = "hookline:"

WEBHOOK_DISABLED = "webhook.disabled"
DELIVERY_EXHAUSTED = "delivery.exhausted"
WEBHOOK_RECOVERED = "webhook.recovered"
KINDS = (WEBHOOK_DISABLED, DELIVERY_EXHAUSTED, WEBHOOK_RECOVERED)


async def operator_tenant(conn: AsyncConnection) -> str | None:
    return (await tenant_rows.resolve(conn, {OPERATOR_UID})).get(OPERATOR_UID)


async def emit(conn: AsyncConnection, notices: list[tuple[str, dict[str, Any]]], now: float) -> int:
    """Store operational events and their deliveries; returns how many deliveries were made."""
    if not notices:
        return 0
    operator = await operator_tenant(conn)
    if operator is None:
        return 0
    routes = await webhook_rows.routes(conn, {operator}, everyone=False)
    events, deliveries = [], []
    for kind, data in notices:
        event, envelope = fanout.event(kind, data, tenant_id=operator, now=now)
        events.append(event)
        deliveries += fanout.deliveries(event, envelope, routes)
    await event_rows.insert_many(conn, events)
    await delivery_rows.insert_many(conn, deliveries)
    return len(deliveries)
