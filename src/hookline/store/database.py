"""Connections and transactions. SQLite runs in WAL mode with `synchronous=FULL`, so an event
acknowledged after commit survives a power cut; writes take the write lock up front
(`BEGIN IMMEDIATE`) through one writer connection, so they queue instead of failing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hookline.errors import ConfigurationError

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def normalize_url(raw: str) -> URL:
    """Map the user's URL onto the async driver: sqlite → aiosqlite, postgresql → asyncpg."""
    try:
        url = make_url(raw)
    except Exception as exc:
        raise ConfigurationError(
            f"HOOKLINE_DATABASE_URL {raw!r} is not a database URL; use "
            "sqlite:///path/to/hookline.db or postgresql://user@host/dbname"
        ) from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ConfigurationError(
                "hookline needs a SQLite file (sqlite:///path/to/hookline.db), not an "
                "in-memory database: events must survive a restart"
            )
        return url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg")
    raise ConfigurationError(
        f"unsupported database {backend!r} in HOOKLINE_DATABASE_URL; use sqlite:/// or postgresql://"
    )


def _sqlite_engine(url: URL, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    return engine


class Database:
    """The connection pools. `read()` and `write()` each yield one transaction."""

    def __init__(self, raw_url: str, *, read_pool_size: int = 4) -> None:
        url = normalize_url(raw_url)
        self.url = url
        self.dialect = url.get_backend_name()
        if self.dialect == "sqlite":
            assert url.database is not None
            Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
            # One writer connection: SQLite has one write lock, so writers queue in the pool
            # rather than spinning on SQLITE_BUSY inside the driver's threads.
            self._writer = _sqlite_engine(url, pool_size=1)
            self._reader = _sqlite_engine(url, pool_size=read_pool_size)

            @event.listens_for(self._writer.sync_engine, "begin")
            def _begin_immediate(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

            @event.listens_for(self._reader.sync_engine, "begin")
            def _begin_deferred(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN")
        else:
            engine = create_async_engine(
                url,
                pool_size=10,
                max_overflow=10,
                pool_pre_ping=True,
                json_serializer=_json_dumps,
                json_deserializer=orjson.loads,
            )
            self._writer = self._reader = engine

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A read-write transaction, committed when the block exits without an exception."""
        async with self._writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction: one consistent snapshot."""
        async with self._reader.connect() as conn, conn.begin():
            yield conn

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()
