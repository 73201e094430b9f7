"""Connections and transactions. SQLite runs in WAL mode with `synchronous=FULL`, so an event
acknowledged after commit survives a power cut; writes take the write lock up front
(`BEGIN IMMEDIATE`) through one writer connection, so they queue instead of failing.

What the database holds stays private: a SQLite file hookline creates is readable by its owner
only (0600; SQLite gives the -wal and -shm files the database file's mode), and no engine ever
puts SQL parameters (header credentials, sealed secrets, event data) into an error message or a
log line."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hookline.errors import ConfigurationError, StoreUnavailable

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)


T = TypeVar("T")
log = logging.getLogger(__name__)
# aiosqlite logs every statement with its parameters at DEBUG: never, whatever the log level.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

# SQLSTATE classes that mean "not now": connection exceptions, insufficient resources, operator
# intervention (shutting down, starting up); and the two conflicts a retry resolves.
_UNAVAILABLE_CLASSES = ("08", "53", "57")
_CONFLICTS = ("40001", "40P01")  # serialization failure, deadlock detected


def transient(exc: BaseException) -> str | None:
    """Why `exc` is a passing database failure worth retrying, or None."""
    if isinstance(exc, DBAPIError):
        state = str(getattr(exc.orig, "sqlstate", None) or "")
        if state in _CONFLICTS:
            return "a conflicting transaction (deadlock); retry"
        if state[:2] in _UNAVAILABLE_CLASSES or exc.connection_invalidated:
            return "the database is unreachable or restarting"
        if isinstance(exc, InterfaceError):
            return "the database connection was lost"
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            return "the database is busy"
        return None
    if isinstance(exc, OSError | TimeoutError):  # while connecting
        return "the database is unreachable"
    return None


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


def create_private_file(path: Path) -> None:
    """Create the SQLite database file, empty (a valid database), readable and writable by its
    owner only. An existing file keeps its mode (an operator may have chosen it, say for a
    backup job's group), but one that every user can read or write is reported."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o007:
            log.warning(
                "the database file %s can be opened by every user of this machine (mode %o): "
                "run chmod 600 on it, and on its -wal and -shm files",
                path,
                mode,
            )
        return
    os.close(descriptor)


def _engine(url: URL, **options: Any) -> AsyncEngine:
    """Every engine: JSON through orjson, and SQL parameters kept out of errors and logs."""
    return create_async_engine(
        url,
        hide_parameters=True,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        **options,
    )


def _sqlite_engine(url: URL, pool_size: int) -> AsyncEngine:
    engine = _engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=60)

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

    def __init__(self, raw_url: str, *, read_pool_size: int = 4, pool_size: int = 10) -> None:
        """`pool_size`: PostgreSQL connections kept open (as many again may open under load)."""
        url = normalize_url(raw_url)
        self.url = url
        self.dialect = url.get_backend_name()
        if self.dialect == "sqlite":
            assert url.database is not None
            Path(url.database).resolve().parent.mkdir(parents=True, exist_ok=True)
            create_private_file(Path(url.database))
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
            engine = _engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
            self._writer = self._reader = engine

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A read-write transaction, committed when the block exits without an exception.
        Passing database failures surface as StoreUnavailable (nothing was written)."""
        try:
            async with self._writer.begin() as conn:
                yield conn
        except Exception as exc:
            _raise_if_transient(exc)
            raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction: one consistent snapshot."""
        try:
            async with self._reader.connect() as conn, conn.begin():
                yield conn
        except Exception as exc:
            _raise_if_transient(exc)
            raise

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()


def _raise_if_transient(exc: Exception) -> None:
    reason = transient(exc)
    if reason is not None:
        raise StoreUnavailable(f"{reason}; try again shortly", retry_after=1) from exc


async def retrying(
    operation: Callable[[], Awaitable[T]], *, delays: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 3.0)
) -> T:
    """Run a transaction, again after each delay while the database is passing through a
    failure (StoreUnavailable). The last failure is raised."""
    for delay in delays:
        try:
            return await operation()
        except StoreUnavailable as exc:
            log.warning("%s; retrying in %.1f s", exc.detail, delay)
            await asyncio.sleep(delay)
    return await operation()
