from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.models import NumberedPage, Page, Paging, Tenant
from hookline.store.pages import fetch_page
from hookline.store.schema import AnyRow, tenants, webhooks


def _tenant(row: AnyRow) -> Tenant:
    return Tenant.model_validate(dict(row._mapping))


async def insert_one(conn: AsyncConnection, values: dict[str, Any]) -> Tenant:
    row = (await conn.execute(insert(tenants).values(values).returning(*tenants.c))).one()
    return _tenant(row)


async def get(conn: AsyncConnection, tenant_id: str) -> Tenant | None:
    row = (await conn.execute(select(tenants).where(tenants.c.id == tenant_id))).one_or_none()
    return _tenant(row) if row else None


async def managed(conn: AsyncConnection, source: str) -> list[Tenant]:
    rows = await conn.execute(select(tenants).where(tenants.c.managed_by == source))
    return [_tenant(row) for row in rows]


async def resolve(conn: AsyncConnection, refs: set[str]) -> dict[str, str]:
    """Map each reference (a tenant's id, or its uid) to the tenant's id; unknown ones are left
    out. An id wins over a uid that happens to look the same."""
    if not refs:
        return {}
    stmt = select(tenants.c.id, tenants.c.uid).where(
        or_(tenants.c.id.in_(refs), tenants.c.uid.in_(refs))
    )
    resolved: dict[str, str] = {}
    for tenant_id, uid in (await conn.execute(stmt)).all():
        if uid in refs:
            resolved.setdefault(uid, tenant_id)
        if tenant_id in refs:
            resolved[tenant_id] = tenant_id
    return resolved


RESERVED_UIDS = "hookline:%"  # hookline's own tenants: left out of lists unless asked for


def reserved_ids() -> Select[tuple[str]]:
    return select(tenants.c.id).where(tenants.c.uid.like(RESERVED_UIDS))


async def page(conn: AsyncConnection, *, paging: Paging) -> Page[Tenant] | NumberedPage[Tenant]:
    query = select(tenants).where(or_(tenants.c.uid.is_(None), ~tenants.c.uid.like(RESERVED_UIDS)))
    return await fetch_page(conn, query, tenants.c.id, paging=paging, convert=_tenant)


async def update_one(
    conn: AsyncConnection, tenant_id: str, values: dict[str, Any]
) -> Tenant | None:
    stmt = update(tenants).where(tenants.c.id == tenant_id).values(values).returning(*tenants.c)
    row = (await conn.execute(stmt)).one_or_none()
    return _tenant(row) if row else None


async def delete_one(conn: AsyncConnection, tenant_id: str) -> bool:
    result = await conn.execute(delete(tenants).where(tenants.c.id == tenant_id))
    return result.rowcount > 0


async def webhook_count(conn: AsyncConnection, tenant_id: str) -> int:
    stmt = select(func.count()).select_from(webhooks).where(webhooks.c.tenant_id == tenant_id)
    return int((await conn.execute(stmt)).scalar_one())
