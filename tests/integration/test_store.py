"""The store on a real SQLite file: migrations, durability settings, the schema they build."""

from __future__ import annotations

import gc
import sqlite3
import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from hookline.store import Database
from hookline.store.migrate import upgrade
from hookline.store.schema import metadata


async def test_migrations_build_exactly_the_declared_schema_and_rerun_safely(
    database_url: str,
) -> None:
    db = Database(database_url)
    try:
        await upgrade(db)
        await upgrade(db)  # a second run is a no-op

        def differences(conn: Connection) -> list[object]:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))

        async with db.read() as conn:
            assert await conn.run_sync(differences) == []
    finally:
        await db.close()


async def test_sqlite_runs_in_wal_mode_with_full_sync(sqlite_url: str, tmp_path: Path) -> None:
    db = Database(sqlite_url)
    try:
        await upgrade(db)
        for transaction in (db.read, db.write):
            async with transaction() as conn:
                journal = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
                synchronous = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
                foreign_keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
            assert (journal, synchronous, foreign_keys) == ("wal", 2, 1)  # 2 = FULL
    finally:
        await db.close()
    with sqlite3.connect(tmp_path / "hookline.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # persistent


async def test_writes_are_serialised_not_refused(sqlite_url: str) -> None:
    import asyncio

    from sqlalchemy import text

    db = Database(sqlite_url)
    try:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE counter (n INTEGER)"))
            await conn.execute(text("INSERT INTO counter VALUES (0)"))

        async def bump() -> None:
            async with db.write() as conn:
                n = (await conn.execute(text("SELECT n FROM counter"))).scalar_one()
                await asyncio.sleep(0)
                await conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

        await asyncio.gather(*(bump() for _ in range(50)))
        async with db.read() as conn:
            assert (await conn.execute(text("SELECT n FROM counter"))).scalar_one() == 50
    finally:
        await db.close()


async def test_a_connection_that_cannot_set_up_is_closed_not_leaked(tmp_path: Path) -> None:
    """A file that is not a database fails each new connection's set-up (its pragmas), as
    `/ready` polls it: the driver's connections are closed there, not left to the garbage
    collector."""
    path = tmp_path / "hookline.db"
    path.write_bytes(b"not a database " * 300)
    db = Database(f"sqlite:///{path}")
    try:
        for _ in range(3):
            with pytest.raises(DBAPIError, match="file is not a database"):
                async with db.read() as conn:
                    await conn.execute(text("SELECT 1"))
    finally:
        await db.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    leaked = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaked == []
