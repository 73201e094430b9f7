"""Alembic migrations, applied programmatically (`hookline migrate`, and by `serve` at start)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from hookline.store.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


MIGRATION_LOCK = 0x686F6F6B  # "hook": a PostgreSQL advisory lock id
RECONCILE_LOCK = 0x686F6F6C  # the next one: reconciling the declared configuration


async def upgrade(db: Database) -> None:
    """Bring the schema to the newest revision. Safe to run again and from several processes
    at once: they take turns (an advisory lock on PostgreSQL, the write lock on SQLite)."""
    async with db.write() as conn:
        if not db.is_sqlite:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK})
        await conn.run_sync(_upgrade)


async def is_current(db: Database) -> bool:
    """Whether the database holds hookline's schema at the newest revision."""

    def check(connection: Connection) -> bool:
        current = MigrationContext.configure(connection).get_current_revision()
        return current == ScriptDirectory.from_config(alembic_config()).get_current_head()

    async with db.read() as conn:
        return await conn.run_sync(check)


@asynccontextmanager
async def one_process_at_a_time(db: Database, lock: int) -> AsyncIterator[None]:
    """On PostgreSQL, processes starting together (api, workers) take turns in the block, so
    each sees what the one before it did. SQLite has one writer at a time anyway."""
    if db.is_sqlite:
        yield
        return
    async with db.write() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock})
        yield


async def revisions(db: Database) -> tuple[str | None, str]:
    """The schema's revision in the database (None: no hookline schema) and the newest one
    this hookline knows."""

    def read(connection: Connection) -> tuple[str | None, str]:
        current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        return current, head or ""

    async with db.read() as conn:
        return await conn.run_sync(read)
