"""Cursor pagination: by time-sortable id, newest first (or by name, ascending); the cursor is
the last key of the page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.models import Page
from hookline.store.schema import AnyRow

T = TypeVar("T")

MAX_LIMIT = 250


async def fetch_page(
    conn: AsyncConnection,
    query: Select[Any],
    id_column: ColumnElement[str],
    *,
    limit: int,
    cursor: str | None,
    convert: Callable[[AnyRow], T],
    newest_first: bool = True,
) -> Page[T]:
    if cursor is not None:
        query = query.where(id_column < cursor if newest_first else id_column > cursor)
    order = id_column.desc() if newest_first else id_column.asc()
    rows: Sequence[AnyRow] = (await conn.execute(query.order_by(order).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [convert(row) for row in rows]
    next_cursor = str(rows[-1]._mapping[id_column]) if more and rows else None
    return Page[T](data=items, next_cursor=next_cursor)
