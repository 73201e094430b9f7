"""Webhook health (seed 004): counters, success rates and latency percentiles."""

from __future__ import annotations

import math

from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.clock import Clock, system_clock
from hookline.models import WebhookStats, WindowStats
from hookline.service.common import found
from hookline.store import Database
from hookline.store import attempts as attempt_rows
from hookline.store import deliveries as delivery_rows
from hookline.store import webhooks as webhook_rows

DAY = 86_400.0


def rank(percentile: float, count: int) -> int:
    """The nearest-rank position (0-based) of a percentile among `count` sorted values."""
    return max(0, math.ceil(percentile * count) - 1)


async def _window(conn: AsyncConnection, webhook_id: str, since: float) -> WindowStats:
    attempts, succeeded = await attempt_rows.window_counts(conn, webhook_id, since)
    if attempts == 0:
        return WindowStats(
            attempts=0,
            succeeded=0,
            failed=0,
            success_rate=None,
            latency_ms_p50=None,
            latency_ms_p95=None,
        )
    return WindowStats(
        attempts=attempts,
        succeeded=succeeded,
        failed=attempts - succeeded,
        success_rate=round(succeeded / attempts, 4),
        latency_ms_p50=await attempt_rows.latency_at_rank(
            conn, webhook_id, since, rank(0.5, attempts)
        ),
        latency_ms_p95=await attempt_rows.latency_at_rank(
            conn, webhook_id, since, rank(0.95, attempts)
        ),
    )


class Stats:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self._db = db
        self._clock = clock

    async def for_webhook(self, webhook_id: str, *, tenant: str | None) -> WebhookStats:
        now = self._clock()
        async with self._db.read() as conn:
            health = await webhook_rows.health(conn, webhook_id, tenant_id=tenant)
            row = found(health, "webhook", webhook_id)
            return WebhookStats(
                webhook_id=row.id,
                is_active=row.is_active,
                disabled_reason=row.disabled_reason,
                success_count=row.success_count,
                failure_count=row.failure_count,
                consecutive_failures=row.consecutive_failures,
                last_triggered_at=row.last_triggered_at,
                last_success_at=row.last_success_at,
                last_failure_at=row.last_failure_at,
                pending=await delivery_rows.pending_count(conn, webhook_id),
                circuit_state=row.circuit_state,
                circuit_retry_at=row.circuit_retry_at,
                last_24h=await _window(conn, webhook_id, now - DAY),
                last_7d=await _window(conn, webhook_id, now - 7 * DAY),
            )
