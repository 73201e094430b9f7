"""A hookline node: the store, the service layer, ingest and the delivery worker in one process.

This is also the embedded library:

    async with Hookline(Settings(database_url="sqlite:///hooks.db")) as hookline:
        await hookline.service.events.send(EventSend(type="order.filled", data={...}))
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from types import TracebackType

from pydantic import SecretStr

from hookline import declared, destinations, followup, tracing
from hookline.auth import Authenticator
from hookline.catalog import EventCatalog
from hookline.circuit import Breaker
from hookline.clock import Clock, system_clock
from hookline.config import Settings
from hookline.heartbeat import Heartbeat
from hookline.ingest import Ingestor
from hookline.metrics import Metrics
from hookline.reconcile import Outcome, Reconciler
from hookline.retention import Retention
from hookline.schedule import RetryPolicy
from hookline.service import Service
from hookline.ssrf import NetworkPolicy, parse_networks
from hookline.store import Database
from hookline.store import webhooks as webhook_rows
from hookline.store.migrate import RECONCILE_LOCK, one_process_at_a_time, upgrade
from hookline.store.notify import Listener
from hookline.transport import Transport
from hookline.vault import Vault
from hookline.worker import Worker

log = logging.getLogger(__name__)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def network_policy(settings: Settings) -> NetworkPolicy:
    if settings.dev:
        return NetworkPolicy.development()
    return NetworkPolicy(
        allow_http=settings.allow_http,
        allowed_networks=parse_networks(settings.allowed_networks),
    )


class Hookline:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        run_worker: bool = True,
        clock: Clock = system_clock,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """`clock` is the one clock everything reads (tests pass one they can move).
        `environ` holds the seeds' variables (WEBHOOKS_*, WEBHOOK_URL...) that declare
        webhooks; by default the process environment over `.env`."""
        self.settings = settings = settings or Settings()
        self.clock = clock
        self.environ = dict(declared.environment() if environ is None else environ)
        self.db = Database(settings.database_url, pool_size=settings.database_pool_size)
        self.policy = network_policy(settings)
        self.catalog = EventCatalog(self.db, clock=clock)
        self.vault = Vault.load(_secret(settings.secret_key), settings.data_dir)
        # HOOKLINE_DESTINATIONS, and what the declared environment enables by itself (seed 002's
        # ENABLE_REDIS_FALLBACK: redis).
        self.destination_kinds = settings.destination_kinds | declared.implied_destinations(
            self.environ
        )
        self.destinations = destinations.build(
            settings,
            Transport(
                timeout=settings.request_timeout,
                max_body_bytes=settings.max_response_body_bytes,
                policy=self.policy,
                max_connections=settings.worker_concurrency,
            ),
            self.policy,
            kinds=self.destination_kinds,
        )
        self.retry_policy = RetryPolicy(
            schedule=settings.retry_schedule, retry_after_max=settings.retry_after_max
        )
        # OTEL_EXPORTER_OTLP_ENDPOINT: a span per send and per attempt (hookline.tracing)
        self.tracing = tracing.from_environment(self.environ)
        self.metrics = Metrics(
            self.db,
            clock=clock,
            heartbeat_interval=settings.heartbeat_interval,
            per_webhook=settings.metrics_per_webhook,
        )
        self.worker: Worker | None = None
        self.retention: Retention | None = None
        self.heartbeat: Heartbeat | None = None
        if run_worker:
            self.heartbeat = Heartbeat(self.db, interval=settings.heartbeat_interval, clock=clock)
            self.retention = Retention(
                self.db,
                keep=settings.retention_days * 86_400,
                interval=settings.retention_interval,
                clock=clock,
            )
            self.worker = Worker(
                self.db,
                self.destinations,
                self.retry_policy,
                self.vault,
                followup.Rules(
                    breaker=Breaker(
                        threshold=settings.circuit_breaker_failure_threshold,
                        recovery=settings.circuit_breaker_recovery_time,
                    ),
                    disable_after=settings.disable_after_failures,
                    disable_span=settings.disable_after_seconds,
                ),
                concurrency=settings.worker_concurrency,
                max_in_flight=settings.max_in_flight_per_webhook,
                in_flight_ceiling=settings.in_flight_ceiling,
                batch_size=settings.claim_batch_size,
                lease=settings.lease,
                poll_interval=settings.poll_interval,
                clock=clock,
                on_recorded=self.metrics.recorded,
                on_cancelled=self.metrics.cancelled,
                tracing=self.tracing,
            )
        self.ingestor = Ingestor(
            self.db,
            self.catalog,
            max_payload_bytes=settings.max_payload_bytes,
            idempotency_ttl=settings.idempotency_ttl,
            max_batch=settings.ingest_batch_size,
            on_commit=self._wake_worker,
            on_events=self.metrics.ingested,
            clock=clock,
        )
        self.authenticator = Authenticator(self.db, _secret(settings.admin_key), clock=clock)
        self.service = Service(
            self.db,
            catalog=self.catalog,
            ingestor=self.ingestor,
            policy=self.policy,
            transport=self.destinations,
            destination_kinds=self.destination_kinds,
            vault=self.vault,
            on_requeue=self._wake_worker,
            on_keys_revoked=self.authenticator.forget,
            on_cancelled=self.metrics.cancelled,
            tracing=self.tracing,
            in_flight_ceiling=settings.in_flight_ceiling,
            max_request_timeout=settings.max_request_timeout,
            public_url=settings.public_url,
            clock=clock,
        )
        self.generated_operator_secret: str | None = None
        self.declared = Outcome()  # what the last reconciliation changed
        # Another process's sends wake this worker at once on PostgreSQL.
        self.listener: Listener | None = None
        if self.worker is not None and not self.db.is_sqlite:
            self.listener = Listener(self.db.url, self._wake_worker)

    def _wake_worker(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    async def check_database(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        await self.db.ping()

    async def check_vault(self) -> None:
        """Fail at start, not at every delivery, if stored secrets cannot be decrypted."""
        async with self.db.read() as conn:
            sealed = await webhook_rows.any_secret(conn)
        if sealed is not None:
            self.vault.open(sealed)

    async def start(self, *, migrate: bool = True) -> None:
        if migrate:
            await upgrade(self.db)
        await self.check_vault()
        self.generated_operator_secret = await self.service.operator.ensure(
            self.settings.operator_webhook_url,
            _secret(self.settings.operator_webhook_secret),
        )
        async with one_process_at_a_time(self.db, RECONCILE_LOCK):
            self.declared = await self.reconciler().apply()
        await self.destinations.start()
        self.ingestor.start()
        if self.worker is not None:
            await self.worker.start()
        if self.heartbeat is not None:
            await self.heartbeat.start()
        if self.retention is not None:
            self.retention.start()
        if self.listener is not None:
            self.listener.start()

    def reconciler(self) -> Reconciler:
        """What makes the database match HOOKLINE_CONFIG and the seeds' environment variables."""
        path = self.settings.config
        file = None if path is None else declared.read_file(path, self.environ)
        return Reconciler(self.service, file, self.environ)

    async def stop(self) -> None:
        """Stop taking events, let in-flight deliveries finish and be recorded, close the store."""
        await self.ingestor.close()
        if self.listener is not None:
            await self.listener.close()
        if self.retention is not None:
            await self.retention.stop()
        if self.worker is not None:
            await self.worker.stop()
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        await self.destinations.close()
        # The last spans go out over HTTP, off the loop (a collector may be served on it).
        await asyncio.to_thread(self.tracing.close)
        await self.db.close()

    async def __aenter__(self) -> Hookline:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
