"""Prometheus metrics: one registry per node (several nodes may run in one process).

Counters move where the facts are made: ingest after its commit (`ingested`), the worker's
recorder after its transaction (`recorded`). They count what this process did; with several
processes, Prometheus sums them. The gauges about shared state (the queue, circuits, disabled
webhooks, worker heartbeats) are read from the database at every scrape (`StoreGauges`), so
every process answers the same. A scrape while the database is away answers the counters and
`hookline_store_up 0`, never an error.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hookline.circuit import State
from hookline.clock import Clock
from hookline.config import Settings
from hookline.deliver import Finished, Skipped
from hookline.destinations.urls import kind_of
from hookline.records import NewEvent, WorkerBeat
from hookline.schedule import Delivered, Retry
from hookline.store import Database
from hookline.store import gauges as gauge_rows
from hookline.store import workers as worker_rows

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ALIVE_INTERVALS = 3  # a worker seen within this many heartbeat intervals is alive
SCRAPE_TIMEOUT = 5.0  # seconds the store gauges may take before the scrape answers without them
CIRCUIT_VALUES: dict[str, int] = {State.CLOSED: 0, State.HALF_OPEN: 1, State.OPEN: 2}
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The database as one scrape read it."""

    now: float
    queue: gauge_rows.Queue
    circuits: dict[str, str]
    disabled: int
    workers: list[WorkerBeat]


class StoreGauges(Collector):
    """Gauges computed from the database: `refresh` reads it (async), `collect` (called by
    prometheus_client, sync) answers what the last refresh read."""

    def __init__(
        self, db: Database, *, clock: Clock, heartbeat_interval: float, per_webhook: bool
    ) -> None:
        self._db = db
        self._clock = clock
        self._heartbeat_interval = heartbeat_interval
        self._per_webhook = per_webhook
        self._snapshot: Snapshot | None = None

    async def refresh(self) -> None:
        try:
            self._snapshot = await asyncio.wait_for(self._read(), SCRAPE_TIMEOUT)
        except Exception as exc:  # the store is away: the scrape answers what the process knows
            log.warning("metrics: the database is unreachable (%s)", type(exc).__name__)
            self._snapshot = None

    async def _read(self) -> Snapshot:
        now = self._clock()
        async with self._db.read() as conn:
            return Snapshot(
                now=now,
                queue=await gauge_rows.queue(conn, now),
                circuits=await gauge_rows.circuits(conn),
                disabled=await gauge_rows.disabled(conn),
                workers=await worker_rows.seen_since(conn, 0.0),
            )

    def describe(self) -> Iterable[Metric]:
        return []  # its families depend on the database: not described in advance

    def collect(self) -> Iterator[Metric]:
        shot = self._snapshot
        yield GaugeMetricFamily(
            "hookline_store_up",
            "1 if this scrape could read the database, 0 if not (the other store gauges are "
            "then absent)",
            value=0 if shot is None else 1,
        )
        if shot is None:
            return
        yield from _queue(shot)
        yield from self._circuits(shot)
        yield GaugeMetricFamily(
            "hookline_webhooks_disabled",
            "Webhooks disabled (by a 410, repeated failures, or by hand)",
            value=shot.disabled,
        )
        yield from _workers(shot, self._heartbeat_interval)

    def _circuits(self, shot: Snapshot) -> Iterator[Metric]:
        counts = GaugeMetricFamily(
            "hookline_circuits", "Webhooks by circuit breaker state", labels=["state"]
        )
        for state in State:
            counts.add_metric([state.value], sum(1 for s in shot.circuits.values() if s == state))
        yield counts
        if not self._per_webhook:
            return
        for name in ("hookline_circuit_breaker_state", "webhook_circuit_breaker_state"):
            family = GaugeMetricFamily(
                name,
                "Circuit breaker state per webhook: 0 closed, 1 half-open, 2 open",
                labels=["webhook_id"],
            )
            for webhook_id, stored in sorted(shot.circuits.items()):
                family.add_metric([webhook_id], CIRCUIT_VALUES.get(stored, 0))
            yield family


def _queue(shot: Snapshot) -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "hookline_queue_depth",
        "Pending deliveries: due (waiting for a worker), scheduled (for later), in_flight",
        labels=["state"],
    )
    depth.add_metric(["due"], shot.queue.due)
    depth.add_metric(["scheduled"], shot.queue.scheduled)
    depth.add_metric(["in_flight"], shot.queue.in_flight)
    yield depth
    oldest = shot.queue.oldest_due_at
    yield GaugeMetricFamily(
        "hookline_oldest_due_age_seconds",
        "How long the longest-waiting due delivery has been due (0 when none is)",
        value=0.0 if oldest is None else max(0.0, shot.now - oldest),
    )


def _workers(shot: Snapshot, interval: float) -> Iterator[Metric]:
    alive = [w for w in shot.workers if w.last_seen_at >= shot.now - ALIVE_INTERVALS * interval]
    yield GaugeMetricFamily(
        "hookline_workers_alive",
        f"Workers whose heartbeat was seen within {ALIVE_INTERVALS} heartbeat intervals",
        value=len(alive),
    )
    if shot.workers:
        latest = max(w.last_seen_at for w in shot.workers)
        yield GaugeMetricFamily(
            "hookline_worker_heartbeat_age_seconds",
            "Seconds since the most recent heartbeat of any worker (absent when none is known)",
            value=max(0.0, shot.now - latest),
        )


class Metrics:
    """A node's metrics: its counters, and the store gauges read at each scrape."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock,
        heartbeat_interval: float,
        per_webhook: bool = True,
    ) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.events_ingested = Counter(
            "hookline_events_ingested",
            "Events accepted (durably stored), by event type",
            ["event_type"],
            registry=registry,
        )
        self.deliveries_finished = Counter(
            "hookline_deliveries_finished",
            "Deliveries that reached a final state, by outcome (succeeded, failed, cancelled)",
            ["outcome"],
            registry=registry,
        )
        self.attempts = Counter(
            "hookline_attempts",
            "Requests made to destinations, by outcome (succeeded, failed) and destination kind",
            ["outcome", "destination"],
            registry=registry,
        )
        self.retries = Counter(
            "hookline_retries_scheduled",
            "Deliveries rescheduled after a failure",
            registry=registry,
        )
        self.latency = Histogram(
            "hookline_attempt_duration_seconds",
            "How long each request to a destination took, by destination kind",
            ["destination"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        # Seed 002's names, for that team's dashboards and alerts.
        self.publish_success = Counter(
            "webhook_publish_success", "Deliveries succeeded (seed 002's name)", registry=registry
        )
        self.publish_failure = Counter(
            "webhook_publish_failure",
            "Deliveries finally failed (seed 002's name)",
            registry=registry,
        )
        self.retry_count = Counter(
            "webhook_retry_count", "Retries scheduled (seed 002's name)", registry=registry
        )
        for outcome in ("succeeded", "failed", "cancelled"):
            self.deliveries_finished.labels(outcome=outcome)  # present from the start, at 0
        self.store = StoreGauges(
            db, clock=clock, heartbeat_interval=heartbeat_interval, per_webhook=per_webhook
        )
        registry.register(self.store)

    def ingested(self, events: Iterable[NewEvent]) -> None:
        for event in events:
            if not event.test:
                self.events_ingested.labels(event_type=event.type).inc()

    def recorded(self, outcomes: Sequence[Finished | Skipped]) -> None:
        """Attempts and delivery outcomes, once their transaction has committed. A batch's
        request is one attempt; each of its deliveries finishes (or is retried) on its own."""
        for outcome in outcomes:
            if isinstance(outcome, Skipped):
                self.deliveries_finished.labels(outcome="cancelled").inc()
                continue
            kind = kind_of(outcome.job.target.url) or "unknown"
            succeeded = isinstance(outcome.decision, Delivered)
            self.attempts.labels(
                outcome="succeeded" if succeeded else "failed", destination=kind
            ).inc()
            self.latency.labels(destination=kind).observe(outcome.result.latency_ms / 1000)
            n = len(outcome.job.deliveries)
            if succeeded:
                self.deliveries_finished.labels(outcome="succeeded").inc(n)
                self.publish_success.inc(n)
            elif isinstance(outcome.decision, Retry):
                self.retries.inc(n)
                self.retry_count.inc(n)
            else:
                self.deliveries_finished.labels(outcome="failed").inc(n)
                self.publish_failure.inc(n)

    def cancelled(self, n: int) -> None:
        """Pending deliveries cancelled outside an attempt (by hand, or with their webhook
        disabled), once their transaction has committed."""
        self.deliveries_finished.labels(outcome="cancelled").inc(n)

    async def exposition(self) -> bytes:
        """The Prometheus text format, the store gauges read now."""
        await self.store.refresh()
        return generate_latest(self.registry)


def authorized(authorization: str | None, token: str | None) -> bool:
    """Whether a scrape may read the metrics: always without a token, else with
    `Authorization: Bearer <token>`."""
    if token is None:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


class MetricsServer:
    """`hookline worker --metrics-port N`: this worker's metrics (its counters and the store
    gauges) at http://host:N/metrics."""

    def __init__(self, metrics: Metrics, *, host: str, port: int, token: str | None) -> None:
        self._metrics = metrics
        self._host = host
        self._port = port
        self._token = token
        self._runner: web.AppRunner | None = None

    @classmethod
    def of(cls, metrics: Metrics, settings: Settings, *, host: str, port: int) -> MetricsServer:
        token = settings.metrics_token
        secret = None if token is None else token.get_secret_value()
        return cls(metrics, host=host, port=port, token=secret)

    async def _serve(self, request: web.Request) -> web.Response:
        if not authorized(request.headers.get("Authorization"), self._token):
            return web.Response(
                status=401,
                text="/metrics needs Authorization: Bearer <HOOKLINE_METRICS_TOKEN>\n",
                headers={"WWW-Authenticate": 'Bearer realm="hookline"'},
            )
        body = await self._metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("metrics at http://%s:%d/metrics", self._host, self._port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
