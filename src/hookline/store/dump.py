"""Whole tables in and out, for `hookline export` and `hookline import`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.store.schema import (
    Timestamp,
    api_keys,
    attempts,
    deliveries,
    event_types,
    events,
    tenants,
    webhooks,
)

# In foreign-key order: a row's parents come before it.
TABLES: tuple[Table, ...] = (tenants, api_keys, event_types, webhooks, events, deliveries, attempts)
BY_NAME = {table.name: table for table in TABLES}


def _key(table: Table) -> Any:
    [column] = table.primary_key.columns
    return column


def _portable(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """Plain names (not SQLAlchemy's str subclass), instants as epoch seconds, everything else
    JSON already."""
    return {
        str(name): value.timestamp()
        if isinstance(table.c[name].type, Timestamp) and value
        else value
        for name, value in row.items()
    }


async def rows(
    conn: AsyncConnection, table: Table, *, chunk: int = 1000
) -> AsyncIterator[dict[str, Any]]:
    """Every row of a table, in primary key order, a chunk at a time."""
    key = _key(table)
    after: Any = None
    while True:
        query = select(table).order_by(key).limit(chunk)
        if after is not None:
            query = query.where(key > after)
        batch = (await conn.execute(query)).mappings().all()
        for row in batch:
            yield _portable(table, dict(row))
        if len(batch) < chunk:
            return
        after = batch[-1][key.name]


async def insert_rows(conn: AsyncConnection, table: Table, batch: list[dict[str, Any]]) -> None:
    if batch:
        await conn.execute(insert(table), batch)


async def count(conn: AsyncConnection, table: Table) -> int:
    return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
