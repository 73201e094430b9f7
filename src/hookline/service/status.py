"""How the installation is doing, at a glance: the queue, the webhooks in trouble, the workers.
`hookline status` prints it; the dashboard can show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hookline.clock import Clock, system_clock
from hookline.models import InstallationStatus, QueueStatus, TroubledWebhook, WorkerSeen
from hookline.store import Database
from hookline.store import gauges as gauge_rows
from hookline.store import queue as queue_rows
from hookline.store import workers as worker_rows

ALIVE_INTERVALS = 3  # a worker is alive while its last heartbeat is this many intervals old
WORKERS_SHOWN_FOR = 86_400.0  # workers unseen for longer are not listed


def _instant(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


class Status:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self._db = db
        self._clock = clock

    async def now(self, *, heartbeat_interval: float) -> InstallationStatus:
        """The queue's depth, failing and disabled webhooks, and the workers seen in the last
        day (alive: a heartbeat within ALIVE_INTERVALS times `heartbeat_interval`)."""
        now = self._clock()
        async with self._db.read() as conn:
            depth = await gauge_rows.queue(conn, now)  # as the metrics count it
            failing = await queue_rows.failing(conn)
            disabled = await queue_rows.disabled(conn)
            beats = await worker_rows.seen_since(conn, now - WORKERS_SHOWN_FOR)
        return InstallationStatus(
            at=datetime.fromtimestamp(now, UTC),
            queue=_queue(depth, now),
            failing_webhooks=failing,
            disabled_webhooks=disabled,
            workers=[
                WorkerSeen(
                    id=beat.id,
                    host=beat.host,
                    pid=beat.pid,
                    started_at=datetime.fromtimestamp(beat.started_at, UTC),
                    last_seen_at=datetime.fromtimestamp(beat.last_seen_at, UTC),
                    age_s=round(max(0.0, now - beat.last_seen_at), 3),
                    alive=now - beat.last_seen_at <= ALIVE_INTERVALS * heartbeat_interval,
                )
                for beat in beats
            ],
        )

    async def troubled(self, *, tenant: str | None, limit: int) -> Troubled:
        """A tenant's (None: every tenant's) failing and disabled webhooks, at most `limit`
        of each, as `now` lists them."""
        async with self._db.read() as conn:
            return Troubled(
                failing=await queue_rows.failing(conn, tenant_id=tenant, limit=limit),
                disabled=await queue_rows.disabled(conn, tenant_id=tenant, limit=limit),
            )

    async def queue(self) -> QueueStatus:
        """How many deliveries wait, as `now` shows it."""
        now = self._clock()
        async with self._db.read() as conn:
            return _queue(await gauge_rows.queue(conn, now), now)


@dataclass(frozen=True)
class Troubled:
    failing: list[TroubledWebhook]
    disabled: list[TroubledWebhook]


def _queue(depth: gauge_rows.Queue, now: float) -> QueueStatus:
    oldest = depth.oldest_due_at
    return QueueStatus(
        due=depth.due,
        in_flight=depth.in_flight,
        scheduled=depth.scheduled,
        oldest_due_at=_instant(oldest),
        oldest_due_age_s=None if oldest is None else round(max(0.0, now - oldest), 3),
    )
