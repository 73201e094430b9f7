"""Alembic environment: runs on the connection hookline hands it (see hookline.store.migrate)."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from hookline.config import Settings
from hookline.store.database import Database
from hookline.store.schema import Timestamp, metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Migrations must not import application code: a Timestamp is stored as a BIGINT.
    if type_ == "type" and isinstance(obj, Timestamp):
        return "sa.BigInteger()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    # `alembic revision --autogenerate` from a checkout: connect with the usual settings.
    db = Database(Settings().database_url)
    try:
        async with db.write() as conn:
            await conn.run_sync(_run)
    finally:
        await db.close()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_standalone())
