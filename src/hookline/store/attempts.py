from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.models import Attempt, Page
from hookline.store.pages import fetch_page
from hookline.store.schema import AnyRow, attempts

RECORD_COLUMNS = tuple(attempts.c[name] for name in Attempt.model_fields)


def _attempt(row: AnyRow) -> Attempt:
    return Attempt.model_validate(dict(row._mapping))


async def insert_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(attempts), rows)


async def page_for_delivery(
    conn: AsyncConnection, delivery_id: str, *, limit: int, cursor: str | None
) -> Page[Attempt]:
    query = select(*RECORD_COLUMNS).where(attempts.c.delivery_id == delivery_id)
    return await fetch_page(
        conn, query, attempts.c.id, limit=limit, cursor=cursor, convert=_attempt
    )
