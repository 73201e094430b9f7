"""Test databases: a fresh SQLite file, or a fresh PostgreSQL database, per test."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

POSTGRES_ENV = "HOOKLINE_TEST_POSTGRES_URL"


def postgres_server_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@asynccontextmanager
async def fresh_postgres_database(server_url: str) -> AsyncIterator[str]:
    """Create an empty database on the server, yield its URL, drop it afterwards."""
    url = make_url(server_url)
    admin_dsn = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    name = f"hookline_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield url.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    """Read hookline's tables directly, on either database (for tests that look under the API).

    A row holds what the driver returns: its types depend on the query and the database."""
    from sqlalchemy import text

    from hookline.store import Database

    db = Database(database_url)
    try:
        async with db.read() as conn:
            return [tuple(row) for row in await conn.execute(text(sql))]
    finally:
        await db.close()


async def delivery_statuses(database_url: str) -> dict[str, int]:
    """How many deliveries are in each status."""
    rows = await query(database_url, "SELECT status, count(*) FROM deliveries GROUP BY status")
    return {str(status): int(count) for status, count in rows}
