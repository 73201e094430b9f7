"""Webhook health (seed 004) and delivery statistics (seed 000): counters, success rates and
latency percentiles of the attempts recorded."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from hookline import durations
from hookline.clock import Clock, system_clock
from hookline.errors import InvalidInput
from hookline.models import (
    AttemptCounts,
    DeliveryStatistics,
    WebhookAttemptCounts,
    WebhookStats,
    WindowStats,
)
from hookline.records import Finishes
from hookline.service.common import found
from hookline.store import Database
from hookline.store import attempts as attempt_rows
from hookline.store import deliveries as delivery_rows
from hookline.store import timeline as timeline_rows
from hookline.store import webhooks as webhook_rows
from hookline.store.attempts import Summary

DAY = 86_400.0


def window_start(since: str, now: float) -> float:
    """The instant `since` names (`durations.instant`): a duration back from `now` or an ISO
    8601 instant."""
    start = durations.instant(since, now)
    if start is None:
        raise InvalidInput(
            f"since must be a duration back from now, such as {durations.EXAMPLES} (a positive "
            "whole number of seconds, minutes, hours, days or weeks), or an ISO 8601 instant "
            f"such as 2026-12-01T10:00:00Z; got {since[:40]!r}",
            loc=("query", "since"),
        )
    return start


def _counts(summary: Summary) -> dict[str, int | float | None]:
    """The fields of AttemptCounts."""
    total, succeeded = summary.total, summary.succeeded
    return {
        "total": total,
        "succeeded": succeeded,
        "failed": total - succeeded,
        "success_rate": round(succeeded / total, 4) if total else None,
        "latency_p50_ms": summary.p50_ms,
        "latency_p95_ms": summary.p95_ms,
    }


def _window(summary: Summary) -> WindowStats:
    total, succeeded = summary.total, summary.succeeded
    return WindowStats(
        attempts=total,
        succeeded=succeeded,
        failed=total - succeeded,
        success_rate=round(succeeded / total, 4) if total else None,
        latency_ms_p50=summary.p50_ms,
        latency_ms_p95=summary.p95_ms,
    )


@dataclass(frozen=True, slots=True)
class Timeline:
    """Deliveries finished per bucket of `bucket` seconds from `start`: `succeeded[i]` and
    `failed[i]` (finally failed) in the i-th. The last bucket holds now."""

    start: float
    bucket: float
    succeeded: tuple[int, ...]
    failed: tuple[int, ...]

    @property
    def end(self) -> float:
        return self.start + self.bucket * len(self.succeeded)

    @property
    def total_succeeded(self) -> int:
        return sum(self.succeeded)

    @property
    def total_failed(self) -> int:
        return sum(self.failed)

    @property
    def success_rate(self) -> float | None:
        """The share that succeeded over the whole timeline; None where nothing finished."""
        finished = self.total_succeeded + self.total_failed
        return self.total_succeeded / finished if finished else None

    def success_rates(self) -> list[float | None]:
        """Per bucket, the share that succeeded; None where nothing finished."""
        return [
            ok / (ok + bad) if ok + bad else None
            for ok, bad in zip(self.succeeded, self.failed, strict=True)
        ]


def aligned_start(now: float, bucket: float, buckets: int) -> float:
    """Where `buckets` buckets of `bucket` seconds start so that they end on a whole bucket,
    the last holding `now`: the same instant gives the same boundaries on every page."""
    return (math.floor(now / bucket) + 1 - buckets) * bucket


def timelines(
    found: Iterable[Finishes], keys: Iterable[str], *, start: float, bucket: float, buckets: int
) -> dict[str, Timeline]:
    """Each key's timeline from the store's (webhook, bucket) counts; `keys` without any
    finish get one of zeros. The key "*" sums every webhook (the store may have summed them
    already, under "*")."""
    succeeded = {key: [0] * buckets for key in keys}
    failed = {key: [0] * buckets for key in keys}
    for row in found:
        if not 0 <= row.number < buckets:
            continue
        for key in {row.webhook_id, "*"}:
            if key in succeeded:
                succeeded[key][row.number] += row.succeeded
                failed[key][row.number] += row.failed
    return {
        key: Timeline(start, bucket, tuple(succeeded[key]), tuple(failed[key])) for key in succeeded
    }


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
                last_24h=_window(await attempt_rows.window_summary(conn, webhook_id, now - DAY)),
                last_7d=_window(await attempt_rows.window_summary(conn, webhook_id, now - 7 * DAY)),
            )

    async def since(self, since: str, *, tenant: str | None) -> DeliveryStatistics:
        """Attempts per webhook since `since` (see `window_start`), of `tenant`'s webhooks or
        (None) every tenant's, and their totals."""
        now = self._clock()
        start = window_start(since, now)
        rows: list[WebhookAttemptCounts] = []
        async with self._db.read() as conn:
            for row in await attempt_rows.counts_by_webhook(conn, start, tenant_id=tenant):
                counts = _counts(
                    await attempt_rows.summary_since(
                        conn, start, tenant_id=tenant, webhook_id=row.webhook_id
                    )
                )
                rows.append(
                    WebhookAttemptCounts.model_validate(
                        {
                            "webhook_id": row.webhook_id,
                            "tenant_id": row.tenant_id,
                            "name": row.name,
                            "url": row.url,
                            **counts,
                        }
                    )
                )
            totals = _counts(
                await attempt_rows.summary_since(conn, start, tenant_id=tenant, webhook_id=None)
            )
        return DeliveryStatistics(
            since=datetime.fromtimestamp(start, UTC),
            until=datetime.fromtimestamp(now, UTC),
            webhooks=rows,
            totals=AttemptCounts.model_validate(totals),
        )

    async def totals(self, since: str, *, tenant: str | None) -> AttemptCounts:
        """The totals of `since` (see `since`) alone, without a row per webhook."""
        start = window_start(since, self._clock())
        async with self._db.read() as conn:
            summary = await attempt_rows.summary_since(
                conn, start, tenant_id=tenant, webhook_id=None
            )
        return AttemptCounts.model_validate(_counts(summary))

    async def timeline(
        self, *, window: float, buckets: int, tenant: str | None, webhook: str | None = None
    ) -> Timeline:
        """Deliveries finished over the last `window` seconds in `buckets` buckets, of every
        webhook `tenant` sees, or of one."""
        found = await self.timelines(
            None if webhook is None else [webhook], window=window, buckets=buckets, tenant=tenant
        )
        return found["*" if webhook is None else webhook]

    async def timelines(
        self,
        webhooks: Collection[str] | None,
        *,
        window: float,
        buckets: int,
        tenant: str | None,
    ) -> dict[str, Timeline]:
        """Each of `webhooks`' timeline over the last `window` seconds (see `timeline`), and
        their sum under "*"; `webhooks` None: every webhook `tenant` sees, summed only."""
        bucket = window / buckets
        start = aligned_start(self._clock(), bucket, buckets)
        async with self._db.read() as conn:
            found = await timeline_rows.finishes(
                conn,
                start=start,
                bucket=bucket,
                buckets=buckets,
                tenant_id=tenant,
                webhook_ids=webhooks,
            )
        keys = ["*", *(webhooks or ())]
        return timelines(found, keys, start=start, bucket=bucket, buckets=buckets)
