"""The worker: claim due deliveries in batches under a lease, attempt them concurrently over one
pooled HTTP session, and record each attempt with the delivery's next state.

There is no batch barrier: every attempt is its own task and is recorded (by group commit with
whatever else finished meanwhile) as soon as it ends, so one slow receiver holds up nobody. The
worker claims only as many deliveries as it has free slots, so a claimed delivery starts at once
and its lease (longer than the request timeout) cannot run out while it waits. Its slots are
shared fairly among tenants and their webhooks (see `hookline.admission`): a claim passes over
the deliveries of those that have no room left.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncConnection

from hookline import admission, deliver, followup, ids, logs, notices
from hookline.admission import DEFAULT_PACE, Gate
from hookline.clock import Clock, system_clock
from hookline.deliver import Finished, Job, Skipped, Target
from hookline.errors import StoreUnavailable
from hookline.groupcommit import Batcher
from hookline.models import Trigger
from hookline.records import Batching, Claim, EventBody, SealedTarget
from hookline.schedule import Retry, RetryPolicy
from hookline.store import Database
from hookline.store import attempts as attempt_rows
from hookline.store import batches as batch_rows
from hookline.store import deliveries as delivery_rows
from hookline.store import events as event_rows
from hookline.store import webhooks as webhook_rows
from hookline.store.database import retrying
from hookline.tracing import Tracing
from hookline.transport import Failure, Sender
from hookline.vault import Vault

log = logging.getLogger(__name__)

Outcome = Finished | Skipped
MAX_EXPECTED = 100_000  # due times a worker remembers


@dataclass(frozen=True, slots=True)
class Send:
    """One request to make: a claimed delivery alone, or a batch (`batch_id`) led by it."""

    leader: Claim
    batch_id: str | None
    deliveries: tuple[Claim, ...]  # in the order their events were accepted; the leader too


def leaders(
    claims: list[Claim], batching: Mapping[str, object]
) -> tuple[list[Claim], dict[str, list[Claim]]]:
    """A batch webhook's claims make one request per batch: the first claim of each batch
    (and of each batch webhook's new deliveries) leads it; the others follow their leader.
    Returns the claims that go through admission, and each leader's followers."""
    leading: dict[tuple[str, str | None], Claim] = {}
    kept: list[Claim] = []
    followers: dict[str, list[Claim]] = {}
    for claim in claims:
        if claim.webhook_id not in batching and claim.batch_id is None:
            kept.append(claim)
            continue
        key = (claim.webhook_id, claim.batch_id)
        if key in leading:
            followers.setdefault(leading[key].id, []).append(claim)
        else:
            leading[key] = claim
            kept.append(claim)
    return kept, followers


def _in_order(leader: Claim, mates: list[Claim]) -> tuple[Claim, ...]:
    return tuple(sorted([leader, *mates], key=lambda c: c.id))


def _batch_trigger(members: list[deliver.Member]) -> Trigger:
    """A batch's attempt is manual (one attempt, no retry) only if each member's is."""
    manual = all(m.trigger == Trigger.MANUAL for m in members)
    return Trigger.MANUAL if manual else Trigger.SCHEDULED


class Worker:
    def __init__(
        self,
        db: Database,
        transport: Sender,
        policy: RetryPolicy,
        vault: Vault,
        rules: followup.Rules,
        *,
        concurrency: int,
        max_in_flight: int,
        in_flight_ceiling: int,
        batch_size: int,
        lease: float,
        poll_interval: float,
        clock: Clock = system_clock,
        rand: Callable[[], float] = random.random,
        on_recorded: Callable[[list[Outcome]], None] = lambda _: None,
        on_cancelled: Callable[[int], None] = lambda _: None,
        tracing: Tracing | None = None,
    ) -> None:
        """`max_in_flight`: a webhook's cap unless it sets its own; `in_flight_ceiling`: no
        webhook's cap is above it. `on_recorded`: told what was recorded, once committed;
        `on_cancelled`: how many pending deliveries a webhook disabled here cancelled.
        `tracing`: a span per attempt (none by default)."""
        self._db = db
        self._transport = transport
        self._policy = policy
        self._vault = vault
        self._rules = rules
        self._max_in_flight = max_in_flight
        self._ceiling = in_flight_ceiling
        self._concurrency = concurrency
        self._batch_size = batch_size
        self._lease = lease
        self._poll_interval = poll_interval
        self._clock = clock
        self._rand = rand
        self._on_recorded = on_recorded
        self._on_cancelled = on_cancelled
        self._tracing = tracing or Tracing()
        self._recorder: Batcher[Outcome, None] = Batcher(
            self._record, max_batch=max(batch_size, 100), name="record"
        )
        self._wake = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False
        self.claims = 0  # claim queries run: an idle worker adds one per poll interval
        self._pace: dict[str, float] = {}  # webhook -> recent request latency (seconds)
        # (webhook, tenant) -> this worker's requests to it whose response is not in yet
        self._requesting: collections.Counter[tuple[str, str]] = collections.Counter()
        self._lease_prefix = ids.new_id("lease")  # + "." + a claim number: this worker's leases
        self._expected: list[float] = []  # a heap: times this worker knows work comes due
        self._claimed_at = float("-inf")  # when the last claim began
        # Tenants and webhooks the last claim passed over (no room): when one of their requests
        # ends, claim again at once rather than at the next poll.
        self._passed_over: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())

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
        """Until the next time this worker knows work comes due, at most a poll interval. What
        was due when the last claim began, that claim has seen; every later time is kept, so a
        wake-up that cuts the wait short loses none of them."""
        expected = self._expected
        while expected and expected[0] <= self._claimed_at:
            heapq.heappop(expected)
        if not expected:
            return self._poll_interval
        return min(self._poll_interval, max(0.001, expected[0] - self._clock()))

    def _expect(self, at: float) -> None:
        if len(self._expected) < MAX_EXPECTED:  # beyond it, polling finds the rest
            heapq.heappush(self._expected, at)

    def _busy(self) -> dict[str, tuple[str, int]]:
        """This worker's requests in flight: webhook -> (tenant, how many)."""
        return {webhook: (tenant, n) for (webhook, tenant), n in self._requesting.items()}

    async def _claim(self, limit: int) -> tuple[int, list[Job | Skipped]]:
        """Claim up to `limit` due deliveries; returns how many were due and what to attempt."""
        now = self._claimed_at = self._clock()
        token = f"{self._lease_prefix}.{self.claims & 0xFFFFFFF:x}"
        self.claims += 1
        full_tenants, full_webhooks = admission.rooms(self._concurrency, self._busy()).full()
        self._passed_over = (full_tenants, full_webhooks)
        async with self._db.write() as conn:
            claims = await delivery_rows.claim(
                conn,
                now=now,
                lease_until=now + self._lease,
                limit=limit,
                token=token,
                skip_locked=not self._db.is_sqlite,
                skip_webhooks=full_webhooks,
                skip_tenants=full_tenants,
            )
            claimed = len(claims)
            sends = await self._admit(conn, claims, now, token) if claims else []
            if not sends:
                return claimed, []
            bodies = await event_rows.bodies(
                conn, {c.event_id for send in sends for c in send.deliveries}
            )
            targets = await webhook_rows.targets(conn, {s.leader.webhook_id for s in sends})
        jobs: list[Job | Skipped] = []
        for send in sends:
            jobs += self._jobs(send, targets.get(send.leader.webhook_id), bodies, token, now)
        return claimed, jobs

    def _jobs(
        self,
        send: Send,
        target: SealedTarget | None,
        bodies: dict[str, EventBody],
        token: str,
        now: float,
    ) -> list[Job | Skipped]:
        """What to attempt for one claimed delivery, or one gathered batch."""
        if target is None or not target.is_active:
            return [
                Skipped(c.id, token, "webhook disabled before this attempt")
                for c in send.deliveries
            ]
        gone = [c for c in send.deliveries if c.event_id not in bodies]
        skipped: list[Job | Skipped] = [
            Skipped(c.id, token, "event no longer stored") for c in gone
        ]
        members = [
            deliver.Member(
                c.id,
                c.event_id,
                c.event_type,
                bodies[c.event_id].payload,
                c.attempt_count + 1,
                c.trigger,
                bodies[c.event_id].trace,
            )
            for c in send.deliveries
            if c.event_id in bodies
        ]
        if not members:
            return skipped
        # The leader carries the batch's time; if its event went, another member does.
        first = next((m for m in members if m.delivery_id == send.leader.id), members[0])
        job = Job(
            delivery_id=first.delivery_id,
            lease_token=token,
            event_id=first.event_id,
            event_type=first.event_type,
            payload=first.payload,
            trace=first.trace,
            target=Target.open(target, now, self._vault),
            number=max(m.number for m in members),
            trigger=first.trigger if send.batch_id is None else _batch_trigger(members),
            tenant_id=send.leader.tenant_id,
            batch_id=send.batch_id,
            members=tuple(members) if send.batch_id is not None else (),
        )
        return [*skipped, job]

    async def _admit(
        self, conn: AsyncConnection, claims: list[Claim], now: float, token: str
    ) -> list[Send]:
        """Circuit breaker, in-flight cap, fair share and rate limit: the excess waits,
        unattempted. A batch webhook's claims are one request per batch: its leader goes
        through admission, and once admitted gathers the batch."""
        webhook_ids = {c.webhook_id for c in claims}
        states = await webhook_rows.gates(conn, webhook_ids, lock=not self._db.is_sqlite)
        batching = {state.id: state.batch for state in states if state.batch is not None}
        claims, followers = leaders(claims, batching)
        # Requests in flight: this worker's own, exactly; other workers' from their leases.
        busy = await delivery_rows.in_flight(
            conn, webhook_ids, now=now, exclude_prefix=self._lease_prefix + "."
        )
        gates = {
            state.id: Gate(
                circuit=state.circuit,
                # FIFO: one at a time. Checked here too, under the webhook's row lock, since
                # two claims may each have seen the other's delivery not yet leased.
                max_in_flight=1
                if state.ordered
                else min(state.max_in_flight or self._max_in_flight, self._ceiling),
                in_flight=busy.get(state.id, 0) + self._requesting[(state.id, state.tenant_id)],
                rate_per_minute=state.rate_limit_per_minute,
                tat=state.throttle_tat,
                pace=self._pace.get(state.id, DEFAULT_PACE),
            )
            for state in states
        }
        fair = admission.rooms(
            self._concurrency, self._busy(), {(c.webhook_id, c.tenant_id) for c in claims}
        )
        plan = admission.plan(
            claims,
            gates,
            breaker=self._rules.breaker,
            now=now,
            probe_deadline=now + self._lease,
            fair=fair,
        )
        sends = [
            await self._gather(conn, c, batching, token, now)
            if c.webhook_id in batching or c.batch_id is not None  # a batch goes on as one
            else Send(c, None, (c,))
            for c in claims
            if c.id in plan.admitted
        ]
        await self._hold_followers(conn, followers, plan, sends, now)
        await delivery_rows.defer_many(conn, plan.wait, reserve=False)
        await delivery_rows.defer_many(conn, plan.reserve, reserve=True)
        await webhook_rows.set_throttle_states(conn, plan.tats)
        await webhook_rows.set_circuits(conn, plan.circuits)
        for until in (*plan.wait.values(), *plan.reserve.values()):
            self._expect(until)
        return sends

    async def _gather(
        self,
        conn: AsyncConnection,
        leader: Claim,
        batching: dict[str, Batching],
        token: str,
        now: float,
    ) -> Send:
        """An admitted leader's batch: the one it was sent in before, or a new one of its
        webhook's waiting deliveries (up to `max_events`)."""
        if leader.batch_id is not None:
            mates = await batch_rows.gather_batch(conn, leader, token=token)
            return Send(leader, leader.batch_id, _in_order(leader, mates))
        batch_id = ids.new_id(ids.BATCH, now)
        mates = await batch_rows.gather_waiting(
            conn,
            leader,
            batch_id=batch_id,
            limit=batching[leader.webhook_id].max_events - 1,
            token=token,
            skip_locked=not self._db.is_sqlite,
        )
        leader = replace(leader, batch_id=batch_id)
        return Send(leader, batch_id, _in_order(leader, mates))

    async def _hold_followers(
        self,
        conn: AsyncConnection,
        followers: dict[str, list[Claim]],
        plan: admission.Plan,
        sends: list[Send],
        now: float,
    ) -> None:
        """Claims that followed a leader and were not gathered: members of a sent batch wait
        for their leader again; new deliveries wait as long as their leader does (or go to
        the next batch at once, when the leader's was full)."""
        gathered = {c.id for send in sends for c in send.deliveries}
        park: set[str] = set()
        for leader_id, claims in followers.items():
            until = plan.wait.get(leader_id, plan.reserve.get(leader_id, now))
            for claim in claims:
                if claim.id in gathered:
                    continue
                if claim.batch_id is not None:
                    park.add(claim.id)
                else:
                    plan.wait[claim.id] = until
        await batch_rows.park_many(conn, park)

    def _spawn(self, job: Job | Skipped) -> None:
        if isinstance(job, Job):
            self._requesting[(job.target.webhook_id, job.tenant_id)] += 1
        task = asyncio.create_task(self._attempt(job))
        self._in_flight.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_freed.set()

    # --- attempting and recording ------------------------------------------------------------

    async def _attempt(self, job: Job | Skipped) -> None:
        try:
            if isinstance(job, Skipped):
                await self._recorder.submit(job)
                return
            try:
                done = await self._attempt_safely(job)
            finally:
                self._request_ended(job)
            self._learn_pace(done)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(*logs.attempt_line(done), extra=logs.attempt_fields(done))
            await self._recorder.submit(done)
        except Exception:
            # The lease runs out and another attempt follows: at-least-once, never lost.
            log.exception(
                "delivery %s: recording the attempt failed",
                job.delivery_id,
                extra=logs.delivery_fields(job) if isinstance(job, Job) else {},
            )

    def _request_ended(self, job: Job) -> None:
        webhook_id = job.target.webhook_id
        key = (webhook_id, job.tenant_id)
        self._requesting[key] -= 1
        if self._requesting[key] <= 0:
            del self._requesting[key]
        tenants, webhooks = self._passed_over
        if job.tenant_id in tenants or webhook_id in webhooks:
            self.wake()  # its room just grew: what the claim passed over may go now

    async def _attempt_safely(self, job: Job) -> Finished:
        """One attempt. Whatever the receiver answers, the attempt ends as a recorded outcome:
        a fault of hookline's own while handling the answer is recorded as a failed attempt and
        retried on the schedule, never redelivered every lease."""
        started = self._clock()
        span = self._tracing.attempt(job)
        try:
            done = await deliver.attempt(
                job,
                self._transport,
                self._policy,
                clock=self._clock,
                rand=self._rand,
                trace=span.headers,
            )
        except Exception as exc:
            log.exception(
                "delivery %s: handling the attempt failed",
                job.delivery_id,
                extra=logs.delivery_fields(job),
            )
            ended = self._clock()
            failure = Failure(
                error=f"hookline could not handle this attempt ({type(exc).__name__}: {exc}); "
                "it is retried on the schedule",
                latency_ms=round((ended - started) * 1000),
            )
            done = deliver.finish(
                job, failure, self._policy, started=started, ended=ended, rand=self._rand()
            )
        span.finished(done)
        return done

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
            alive = await delivery_rows.existing_ids(
                conn, {m.delivery_id for d in done for m in d.job.deliveries}
            )
            records = [a for d in done for a in deliver.attempt_records(d)]
            await attempt_rows.insert_many(conn, [a for a in records if a.delivery_id in alive])
            await delivery_rows.finish_many(
                conn,
                [state for d in done for state in deliver.next_states(d)]
                + [deliver.skipped_state(s, now) for s in skipped],
            )
            await webhook_rows.tally_many(conn, deliver.tallies(done))
            health = await webhook_rows.follow_ups(conn, {d.job.target.webhook_id for d in done})
            follow_up = followup.plan(
                health, done, self._rules, operator=await notices.operator_tenant(conn), now=now
            )
            applied = await followup.apply(
                conn, follow_up, horizon=self._rules.breaker.recovery + self._lease, now=now
            )
        self._on_recorded(batch)
        if applied.cancelled:
            self._on_cancelled(applied.cancelled)
        if applied.notices or follow_up.release or any(d.job.target.ordered for d in done):
            self.wake()  # operational events to send, a queue let go, or a FIFO's next in line
        return [None] * len(batch)
