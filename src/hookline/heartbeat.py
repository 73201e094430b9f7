"""A running worker says it is alive: a row in `workers`, written every `interval` seconds and
removed when the worker stops cleanly. `/ready`, the metrics and `hookline status` read them; a
worker whose heartbeat is older than a few intervals is gone (crashed, or cut off)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from hookline import ids
from hookline.clock import Clock, system_clock
from hookline.records import WorkerBeat
from hookline.store import Database
from hookline.store import workers as worker_rows

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 10.0
FORGET_AFTER = 86_400.0  # rows of workers unseen for a day are removed


class Heartbeat:
    def __init__(
        self, db: Database, *, interval: float = DEFAULT_INTERVAL, clock: Clock = system_clock
    ) -> None:
        self._db = db
        self._interval = interval
        self._clock = clock
        now = clock()
        self.me = WorkerBeat(
            id=ids.new_id("wrk", now),
            host=socket.gethostname()[:256],
            pid=os.getpid(),
            started_at=now,
            last_seen_at=now,
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def interval(self) -> float:
        return self._interval

    async def start(self) -> None:
        await self.beat()
        self._task = asyncio.create_task(self._forever(), name="heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            async with self._db.write() as conn:
                await worker_rows.forget(conn, self.me.id)
        except Exception:
            log.warning("could not remove this worker's heartbeat; it ages out by itself")

    async def beat(self) -> None:
        now = self._clock()
        self.me = WorkerBeat(
            id=self.me.id,
            host=self.me.host,
            pid=self.me.pid,
            started_at=self.me.started_at,
            last_seen_at=now,
        )
        async with self._db.write() as conn:
            await worker_rows.beat(conn, self.me)
            await worker_rows.prune(conn, now - FORGET_AFTER)

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.beat()
            except Exception as exc:  # the database is away: the next beat tries again
                log.warning("worker heartbeat not written: %s", type(exc).__name__)
