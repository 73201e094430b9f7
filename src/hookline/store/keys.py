from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.models import ApiKey, NumberedPage, Page, Paging
from hookline.store.pages import fetch_page
from hookline.store.schema import AnyRow, api_keys

RECORD_COLUMNS = tuple(api_keys.c[name] for name in ApiKey.model_fields)


def _key(row: AnyRow) -> ApiKey:
    return ApiKey.model_validate(dict(row._mapping))


async def insert_one(conn: AsyncConnection, values: dict[str, Any]) -> ApiKey:
    stmt = insert(api_keys).values(values).returning(*RECORD_COLUMNS)
    return _key((await conn.execute(stmt)).one())


async def by_lookup(conn: AsyncConnection, lookup: str) -> AnyRow | None:
    stmt = select(
        api_keys.c.id,
        api_keys.c.tenant_id,
        api_keys.c.digest,
        api_keys.c.revoked_at,
        api_keys.c.expires_at,
    ).where(api_keys.c.prefix == lookup)
    return (await conn.execute(stmt)).one_or_none()


async def by_id(conn: AsyncConnection, key_id: str) -> AnyRow | None:
    stmt = select(api_keys.c.tenant_id, api_keys.c.revoked_at, api_keys.c.expires_at).where(
        api_keys.c.id == key_id
    )
    return (await conn.execute(stmt)).one_or_none()


async def admin_key_count(conn: AsyncConnection) -> int:
    stmt = select(func.count()).select_from(api_keys).where(api_keys.c.tenant_id.is_(None))
    return int((await conn.execute(stmt.where(api_keys.c.revoked_at.is_(None)))).scalar_one())


async def page(
    conn: AsyncConnection, *, tenant_id: str | None, paging: Paging, every: bool = False
) -> Page[ApiKey] | NumberedPage[ApiKey]:
    """One tenant's keys, or (tenant_id None) the admin keys; `every`: all keys."""
    query = select(*RECORD_COLUMNS)
    if not every:
        query = query.where(
            api_keys.c.tenant_id.is_(None)
            if tenant_id is None
            else api_keys.c.tenant_id == tenant_id
        )
    return await fetch_page(conn, query, api_keys.c.id, paging=paging, convert=_key)


async def revoke(conn: AsyncConnection, key_id: str, *, tenant_id: str | None, now: float) -> bool:
    stmt = update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
    if tenant_id is not None:
        stmt = stmt.where(api_keys.c.tenant_id == tenant_id)
    return (await conn.execute(stmt.values(revoked_at=now))).rowcount > 0
