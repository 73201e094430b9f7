"""Group commit: many concurrent callers share one transaction.

Callers `submit` an item and wait; one runner takes everything queued (up to `max_batch`), hands
it to `flush` as a list, and answers each caller with its own result. While a flush runs, new
items queue up for the next one, so batches grow with load and an idle system adds no delay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from hookline.errors import Unavailable

In = TypeVar("In")
Out = TypeVar("Out")

log = logging.getLogger(__name__)

Flush = Callable[[list[In]], Awaitable[list[Out | Exception]]]


class Batcher(Generic[In, Out]):
    def __init__(self, flush: Flush[In, Out], *, max_batch: int, name: str) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._name = name
        self._queue: asyncio.Queue[tuple[In, asyncio.Future[Out]]] = asyncio.Queue()
        self._runner: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name=f"batcher:{self._name}")

    async def submit(self, item: In) -> Out:
        if self._closing or self._runner is None:
            raise Unavailable("hookline is shutting down; retry against another instance")
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def close(self) -> None:
        """Refuse new items, finish everything already submitted, stop."""
        self._closing = True
        if self._runner is not None:
            await self._queue.join()
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._flush_batch(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _flush_batch(self, batch: list[tuple[In, asyncio.Future[Out]]]) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{self._name}: {len(results)} results for {len(batch)} items")
        except Exception as exc:
            log.exception("%s: a batch of %d failed", self._name, len(batch))
            results = [exc] * len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # the caller went away; the work is done regardless
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
