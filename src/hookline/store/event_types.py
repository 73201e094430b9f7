from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.models import EventType, NumberedPage, Page, Paging
from hookline.store.pages import fetch_page
from hookline.store.schema import AnyRow, event_types


def _event_type(row: AnyRow) -> EventType:
    values = dict(row._mapping)
    values["examples"] = values["examples"] or []
    return EventType.model_validate(values)


async def insert_one(conn: AsyncConnection, values: dict[str, Any]) -> EventType:
    stmt = insert(event_types).values(values).returning(*event_types.c)
    return _event_type((await conn.execute(stmt)).one())


async def get(conn: AsyncConnection, name: str) -> EventType | None:
    stmt = select(event_types).where(event_types.c.name == name)
    row = (await conn.execute(stmt)).one_or_none()
    return _event_type(row) if row else None


async def all_types(conn: AsyncConnection) -> list[EventType]:
    rows = await conn.execute(select(event_types).order_by(event_types.c.name))
    return [_event_type(row) for row in rows]


async def page(
    conn: AsyncConnection, *, paging: Paging, include_archived: bool
) -> Page[EventType] | NumberedPage[EventType]:
    query = select(event_types)
    if not include_archived:
        query = query.where(event_types.c.archived.is_(False))
    return await fetch_page(
        conn,
        query,
        event_types.c.name,
        paging=paging,
        convert=_event_type,
        newest_first=False,
    )


async def update_one(conn: AsyncConnection, name: str, values: dict[str, Any]) -> EventType | None:
    stmt = (
        update(event_types)
        .where(event_types.c.name == name)
        .values(values)
        .returning(*event_types.c)
    )
    row = (await conn.execute(stmt)).one_or_none()
    return _event_type(row) if row else None
