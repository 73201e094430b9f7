"""Waking idle workers across processes on PostgreSQL: LISTEN/NOTIFY, with polling as the
fallback (and on SQLite, where processes share the file, the only way).

Store functions that make deliveries due call `announce` in their transaction; PostgreSQL
delivers the notification at commit to every listening worker, which claims at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

CHANNEL = "hookline_deliveries"
HEALTH_CHECK = 30.0  # seconds between checks that the listening connection is alive


async def announce(conn: AsyncConnection) -> None:
    """Deliveries are due: wake listening workers when this transaction commits."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class Listener:
    """Keeps one connection LISTENing and calls `on_notify` for every notification, and after
    every (re)connection, since notifications sent while it was away are lost."""

    def __init__(self, url: URL, on_notify: Callable[[], None]) -> None:
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._on_notify = on_notify
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="worker:listen")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                conn = await asyncpg.connect(self._dsn, timeout=10)
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                log.warning("cannot LISTEN for new deliveries (%s); polling until it can", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 0.5
            try:
                await self._listen(conn)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("lost the LISTEN connection (%s); reconnecting", exc)
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)

    async def _listen(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _: lost.set())
        await conn.add_listener(CHANNEL, self._notified)
        self.connected.set()
        self._on_notify()  # whatever became due while nobody was listening
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), HEALTH_CHECK)
                break
            await asyncio.wait_for(conn.fetchval("SELECT 1"), 5)

    def _notified(self, *_: Any) -> None:
        self._on_notify()
