"""The worker: claim due deliveries in batches under a lease, attempt them concurrently over one
pooled HTTP session, and record each attempt with the delivery's next state.

There is no batch barrier: every attempt is its own task and is recorded (by group commit with
whatever else finished meanwhile) as soon as it ends, so one slow receiver holds up nobody. The
worker claims only as many deliveries as it has free slots, so a claimed delivery starts at once
and its lease (longer than the request timeout) cannot run out while it waits.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from hookline import admission, deliver, followup, ids, notices
from hookline.admission import DEFAULT_PACE, Claimed, Gate
from hookline.batching import Batcher
from hookline.circuit import Circuit, State
from hookline.deliver import Finished, Job, Skipped, Target
from hookline.errors import StoreUnavailable
from hookline.models import Trigger
from hookline.schedule import Retry, RetryPolicy
from hookline.store import Database
from hookline.store import attempts as attempt_rows
from hookline.store import deliveries as delivery_rows
from hookline.store import events as event_rows
from hookline.store import webhooks as webhook_rows
from hookline.store.database import retrying
from hookline.store.schema import AnyRow, epoch
from hookline.transport import Transport
from hookline.vault import Vault

log = logging.getLogger(__name__)

Outcome = Finished | Skipped


class Worker:
    def __init__(
        self,
        db: Database,
        transport: Transport,
        policy: RetryPolicy,
        vault: Vault,
        rules: followup.Rules,
        *,
        concurrency: int,
        max_in_flight: int,
        retention: float,
        retention_interval: float,
        batch_size: int,
        lease: float,
        poll_interval: float,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._db = db
        self._transport = transport
        self._policy = policy
        self._vault = vault
        self._rules = rules
        self._max_in_flight = max_in_flight
        self._retention = retention
        self._retention_interval = retention_interval
        self.purged = 0  # events removed by retention since start
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
        self._janitor: asyncio.Task[None] | None = None
        self._stopping = False
        self.claims = 0  # claim queries run: an idle worker adds one per poll interval
        self._pace: dict[str, float] = {}  # webhook -> recent request latency (seconds)
        self._requesting: collections.Counter[str] = collections.Counter()  # webhook -> requests
        self._lease_prefix = ids.new_id("lease")  # + "." + a claim number: this worker's leases
        self._soonest: float | None = None  # the earliest time this worker knows work is due

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._recorder.start()
        self._loop = asyncio.create_task(self._run(), name="worker:claim")
        self._janitor = asyncio.create_task(self._purge_forever(), name="worker:retention")

    async def stop(self) -> None:
        """Claim nothing new, let in-flight attempts finish and be recorded, then close."""
        self._stopping = True
        self._wake.set()
        self._slot_freed.set()
        if self._loop is not None:
            await asyncio.gather(self._loop, return_exceptions=True)
            self._loop = None
        if self._janitor is not None:
            self._janitor.cancel()
            await asyncio.gather(self._janitor, return_exceptions=True)
            self._janitor = None
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
            except StoreUnavailable as exc:
                log.warning("cannot claim deliveries: %s", exc.detail)
                claimed, jobs = 0, []
            except Exception:
                log.exception("claiming deliveries failed; retrying in %.1f s", self._poll_interval)
                claimed, jobs = 0, []
            for job in jobs:
                self._spawn(job)
            if claimed < wanted and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_wait())

    def _idle_wait(self) -> float:
        """Until the soonest delivery this worker knows is due, at most a poll interval."""
        soonest, self._soonest = self._soonest, None
        if soonest is None:
            return self._poll_interval
        return min(self._poll_interval, max(0.001, soonest - self._clock()))

    def _expect(self, at: float) -> None:
        self._soonest = at if self._soonest is None else min(self._soonest, at)

    async def _claim(self, limit: int) -> tuple[int, list[Job | Skipped]]:
        """Claim up to `limit` due deliveries; returns how many were due and what to attempt."""
        now = self._clock()
        token = f"{self._lease_prefix}.{self.claims & 0xFFFFFFF:x}"
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
            rows = await self._admit(conn, rows, now, token) if rows else rows
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
                        target=Target.from_row(target, now, self._vault),
                        number=row.attempt_count + 1,
                        trigger=Trigger(row.trigger),
                    )
                )
        return claimed, jobs

    async def _admit(
        self, conn: AsyncConnection, rows: list[AnyRow], now: float, token: str
    ) -> list[AnyRow]:
        """Circuit breaker, in-flight cap and rate limit: the excess waits, unattempted."""
        webhook_ids = {r.webhook_id for r in rows}
        states = await webhook_rows.gates(conn, webhook_ids, lock=not self._db.is_sqlite)
        # Requests in flight: this worker's own, exactly; other workers' from their leases.
        busy = await delivery_rows.in_flight(
            conn, webhook_ids, now=now, exclude_prefix=self._lease_prefix + "."
        )
        gates = {
            row.id: Gate(
                circuit=Circuit(State(row.circuit_state), epoch(row.circuit_retry_at)),
                max_in_flight=row.max_in_flight or self._max_in_flight,
                in_flight=busy.get(row.id, 0) + self._requesting[row.id],
                rate_per_minute=row.rate_limit_per_minute,
                tat=epoch(row.throttle_tat),
                pace=self._pace.get(row.id, DEFAULT_PACE),
            )
            for row in states
        }
        plan = admission.plan(
            [Claimed(r.id, r.webhook_id, r.throttled) for r in rows],
            gates,
            breaker=self._rules.breaker,
            now=now,
            probe_deadline=now + self._lease,
        )
        await delivery_rows.defer_many(conn, plan.wait, reserve=False)
        await delivery_rows.defer_many(conn, plan.reserve, reserve=True)
        await webhook_rows.set_throttle_states(conn, plan.tats)
        await webhook_rows.set_circuits(
            conn, {k: (c.state.value, c.retry_at) for k, c in plan.circuits.items()}
        )
        for until in (*plan.wait.values(), *plan.reserve.values()):
            self._expect(until)
        return [r for r in rows if r.id in plan.admitted]

    def _spawn(self, job: Job | Skipped) -> None:
        if isinstance(job, Job):
            self._requesting[job.target.webhook_id] += 1  # until its response is in
        task = asyncio.create_task(self._attempt(job))
        self._in_flight.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_freed.set()

    # --- retention ---------------------------------------------------------------------------

    async def _purge_forever(self) -> None:
        while True:
            await asyncio.sleep(self._retention_interval)
            try:
                await self.purge()
            except Exception:
                log.exception("purging old events failed; trying again later")

    async def purge(self, batch: int = 500) -> int:
        """Delete what is older than the retention period, a small batch per transaction, so
        deliveries are never held up for long."""
        cutoff = self._clock() - self._retention
        total = 0
        while True:
            async with self._db.write() as conn:
                removed = await event_rows.purge_before(conn, cutoff, limit=batch)
            total += removed
            self.purged += removed
            if removed < batch:
                return total
            await asyncio.sleep(0.05)

    # --- attempting and recording ------------------------------------------------------------

    async def _attempt(self, job: Job | Skipped) -> None:
        try:
            if isinstance(job, Skipped):
                await self._recorder.submit(job)
                return
            try:
                done = await deliver.attempt(
                    job, self._transport, self._policy, clock=self._clock, rand=self._rand
                )
            finally:
                self._requesting[job.target.webhook_id] -= 1
                if self._requesting[job.target.webhook_id] <= 0:
                    del self._requesting[job.target.webhook_id]
            self._learn_pace(done)
            await self._recorder.submit(done)
        except Exception:
            # The lease runs out and another attempt follows: at-least-once, never lost.
            log.exception("recording a delivery attempt failed")

    def _learn_pace(self, done: Finished) -> None:
        webhook_id, took = done.job.target.webhook_id, done.ended_at - done.started_at
        previous = self._pace.get(webhook_id)
        self._pace[webhook_id] = took if previous is None else 0.8 * previous + 0.2 * took
        if isinstance(done.decision, Retry):
            self._expect(done.decision.at)
        if len(self._pace) > 100_000:
            self._pace.clear()

    async def _record(self, batch: list[Outcome]) -> list[Exception | None]:
        # Retried through a database restart, so the attempts are not lost and resent later.
        return await retrying(lambda: self._record_once(batch))

    async def _record_once(self, batch: list[Outcome]) -> list[Exception | None]:
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
            health = await webhook_rows.follow_ups(conn, {d.job.target.webhook_id for d in done})
            follow_up = followup.plan(
                health, done, self._rules, operator=await notices.operator_tenant(conn), now=now
            )
            queued = await followup.apply(
                conn, follow_up, horizon=self._rules.breaker.recovery + self._lease, now=now
            )
        if queued or follow_up.release:
            self.wake()  # operational events to send, or a queue let go
        return [None] * len(batch)
