"""The worker: claim due deliveries in batches under a lease, attempt them concurrently over one
pooled HTTP session, and record each attempt with the delivery's next state.

There is no batch barrier: every attempt is its own task and is recorded (by group commit with
whatever else finished meanwhile) as soon as it ends, so one slow receiver holds up nobody. The
worker claims only as many deliveries as it has free slots, so a claimed delivery starts at once
and its lease (longer than the request timeout) cannot run out while it waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from hookline import deliver, ids, throttle
from hookline.batching import Batcher
from hookline.deliver import Finished, Job, Skipped, Target
from hookline.models import Trigger
from hookline.schedule import Disable, RetryPolicy
from hookline.store import Database
from hookline.store import attempts as attempt_rows
from hookline.store import deliveries as delivery_rows
from hookline.store import events as event_rows
from hookline.store import webhooks as webhook_rows
from hookline.store.schema import AnyRow
from hookline.throttle import Claimed
from hookline.transport import Transport

log = logging.getLogger(__name__)

Outcome = Finished | Skipped


class Worker:
    def __init__(
        self,
        db: Database,
        transport: Transport,
        policy: RetryPolicy,
        *,
        concurrency: int,
        batch_size: int,
        lease: float,
        poll_interval: float,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._db = db
        self._transport = transport
        self._policy = policy
        self._concurrency = concurrency
        self._batch_size = batch_size
        self._lease = lease
        self._poll_interval = poll_interval
        self._clock = clock
        self._rand = rand
        self._recorder: Batcher[Outcome, None] = Batcher(
            self._record, max_batch=max(batch_size, 100), name="record"
        )
        self._wake = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False
        self.claims = 0  # claim queries run: an idle worker adds one per poll interval

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._recorder.start()
        self._loop = asyncio.create_task(self._run(), name="worker:claim")

    async def stop(self) -> None:
        """Claim nothing new, let in-flight attempts finish and be recorded, then close."""
        self._stopping = True
        self._wake.set()
        self._slot_freed.set()
        if self._loop is not None:
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None
        if self._in_flight:
            log.info("waiting for %d in-flight deliveries", len(self._in_flight))
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self._recorder.close()

    def wake(self) -> None:
        """New deliveries are due: claim now instead of at the next poll."""
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    # --- claiming ----------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            free = self._concurrency - len(self._in_flight)
            if free <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            wanted = min(free, self._batch_size)
            self._wake.clear()  # before claiming, so a send during the claim is not missed
            try:
                claimed, jobs = await self._claim(wanted)
            except Exception:
                log.exception("claiming deliveries failed; retrying in %.1f s", self._poll_interval)
                claimed, jobs = 0, []
            for job in jobs:
                self._spawn(job)
            if claimed < wanted and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)

    async def _claim(self, limit: int) -> tuple[int, list[Job | Skipped]]:
        """Claim up to `limit` due deliveries; returns how many were due and what to attempt."""
        now = self._clock()
        token = ids.new_id("lease", now)
        self.claims += 1
        async with self._db.write() as conn:
            rows = await delivery_rows.claim(
                conn,
                now=now,
                lease_until=now + self._lease,
                limit=limit,
                token=token,
                skip_locked=not self._db.is_sqlite,
            )
            claimed = len(rows)
            rows = await self._admit(conn, rows, now) if rows else rows
            if not rows:
                return claimed, []
            payloads = await event_rows.payloads(conn, {row.event_id for row in rows})
            targets = await webhook_rows.targets(conn, {row.webhook_id for row in rows})
        jobs: list[Job | Skipped] = []
        for row in rows:
            target = targets.get(row.webhook_id)
            payload = payloads.get(row.event_id)
            if target is None or not target.is_active:
                jobs.append(Skipped(row.id, token, "webhook disabled before this attempt"))
            elif payload is None:
                jobs.append(Skipped(row.id, token, "event no longer stored"))
            else:
                jobs.append(
                    Job(
                        delivery_id=row.id,
                        lease_token=token,
                        event_id=row.event_id,
                        event_type=row.event_type,
                        payload=payload,
                        target=Target.from_row(target, now),
                        number=row.attempt_count + 1,
                        trigger=Trigger(row.trigger),
                    )
                )
        return claimed, jobs

    async def _admit(self, conn: AsyncConnection, rows: list[AnyRow], now: float) -> list[AnyRow]:
        """Apply per-webhook rate limits: the excess waits for its slot, unattempted."""
        limits = await webhook_rows.throttle_states(
            conn, {r.webhook_id for r in rows if not r.throttled}, lock=not self._db.is_sqlite
        )
        if not limits:
            return rows
        plan = throttle.plan_claim(
            [Claimed(r.id, r.webhook_id, r.throttled) for r in rows], limits, now
        )
        await delivery_rows.defer_many(conn, plan.deferred)
        await webhook_rows.set_throttle_states(conn, plan.tats)
        if plan.deferred:
            log.debug("rate limits deferred %d deliveries", len(plan.deferred))
        return [r for r in rows if r.id in plan.admitted]

    def _spawn(self, job: Job | Skipped) -> None:
        task = asyncio.create_task(self._attempt(job))
        self._in_flight.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_freed.set()

    # --- attempting and recording ------------------------------------------------------------

    async def _attempt(self, job: Job | Skipped) -> None:
        try:
            if isinstance(job, Job):
                outcome: Outcome = await deliver.attempt(
                    job, self._transport, self._policy, clock=self._clock, rand=self._rand
                )
            else:
                outcome = job
            await self._recorder.submit(outcome)
        except Exception:
            # The lease runs out and another attempt follows: at-least-once, never lost.
            log.exception("recording a delivery attempt failed")

    async def _record(self, batch: list[Outcome]) -> list[Exception | None]:
        now = self._clock()
        done = [o for o in batch if isinstance(o, Finished)]
        skipped = [o for o in batch if isinstance(o, Skipped)]
        async with self._db.write() as conn:
            # A webhook deleted mid-flight takes its deliveries with it: nothing to record.
            alive = await delivery_rows.existing_ids(conn, {d.job.delivery_id for d in done})
            await attempt_rows.insert_many(
                conn, [deliver.attempt_row(d) for d in done if d.job.delivery_id in alive]
            )
            await delivery_rows.finish_many(
                conn,
                [deliver.finish_row(d) for d in done] + [deliver.skip_row(s, now) for s in skipped],
            )
            await webhook_rows.tally_many(conn, deliver.tallies(done))
            for item in done:
                if isinstance(item.decision, Disable):
                    await webhook_rows.disable(
                        conn, item.job.target.webhook_id, item.decision.reason, now
                    )
        return [None] * len(batch)
