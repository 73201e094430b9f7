"""Retention: events (with their deliveries and attempts) older than the retention period are
deleted, a small batch per transaction so deliveries are never held up for long. An event with a
delivery still pending is kept until it finishes."""

from __future__ import annotations

import asyncio
import logging

from hookline.clock import Clock, system_clock
from hookline.store import Database
from hookline.store import events as event_rows

log = logging.getLogger(__name__)


class Retention:
    def __init__(
        self, db: Database, *, keep: float, interval: float, clock: Clock = system_clock
    ) -> None:
        self._db = db
        self._keep = keep
        self._interval = interval
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.purged = 0  # events removed since start

    def start(self) -> None:
        self._task = asyncio.create_task(self._forever(), name="retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.purge()
            except Exception:
                log.exception("purging old events failed; trying again later")

    async def purge(self, batch: int = 500) -> int:
        """Delete what is older than the retention period; returns how many events went."""
        cutoff = self._clock() - self._keep
        total = 0
        while True:
            async with self._db.write() as conn:
                removed = await event_rows.purge_before(conn, cutoff, limit=batch)
            total += removed
            self.purged += removed
            if removed < batch:
                return total
            await asyncio.sleep(0.05)
