from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from hookline import fanout
from hookline.clock import Clock, system_clock
from hookline.errors import Conflict
from hookline.models import (
    FIRST_PAGE,
    Attempt,
    Delivery,
    DeliveryCancel,
    DeliveryStatus,
    DeliveryWithAttempts,
    NumberedPage,
    Page,
    Paging,
    Recovery,
    RecoveryResult,
    Trigger,
    Webhook,
)
from hookline.records import Route
from hookline.service.common import found
from hookline.store import Database
from hookline.store import attempts as attempt_rows
from hookline.store import batches as batch_rows
from hookline.store import deliveries as delivery_rows
from hookline.store import events as event_rows
from hookline.store import webhooks as webhook_rows

RECOVER_CHUNK = 500


def _refuse_if_disabled(webhook: Webhook) -> None:
    if not webhook.is_active:
        raise Conflict(
            f"webhook {webhook.id!r} is disabled ({webhook.disabled_reason}); re-enable it "
            "(PATCH is_active=true) before sending it deliveries again"
        )


class Deliveries:
    def __init__(
        self,
        db: Database,
        *,
        on_requeue: Callable[[], None],
        on_cancelled: Callable[[int], None] = lambda _: None,
        clock: Clock = system_clock,
    ) -> None:
        self._db = db
        self._clock = clock
        self._on_requeue = on_requeue
        self._on_cancelled = on_cancelled

    async def get(self, delivery_id: str, *, tenant: str | None) -> Delivery:
        async with self._db.read() as conn:
            delivery = await delivery_rows.get(conn, delivery_id, tenant_id=tenant)
        return found(delivery, "delivery", delivery_id)

    async def attempts(
        self,
        delivery_id: str,
        *,
        tenant: str | None,
        paging: Paging = FIRST_PAGE,
    ) -> Page[Attempt] | NumberedPage[Attempt]:
        async with self._db.read() as conn:
            found(
                await delivery_rows.get(conn, delivery_id, tenant_id=tenant),
                "delivery",
                delivery_id,
            )
            return await attempt_rows.page_for_delivery(conn, delivery_id, paging=paging)

    async def for_webhook(
        self,
        webhook_id: str,
        *,
        tenant: str | None,
        status: DeliveryStatus | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        paging: Paging = FIRST_PAGE,
    ) -> Page[DeliveryWithAttempts] | NumberedPage[DeliveryWithAttempts]:
        """A webhook's delivery log, newest first, each delivery with its attempts."""
        async with self._db.read() as conn:
            await _webhook(conn, webhook_id, tenant)
            page = await delivery_rows.page(
                conn,
                tenant_id=tenant,
                webhook_id=webhook_id,
                status=status,
                event_type=event_type,
                since=since,
                until=until,
                paging=paging,
            )
            tried = await attempt_rows.for_deliveries(conn, [d.id for d in page.data])
        logged = [DeliveryWithAttempts(**d.model_dump(), attempts=tried[d.id]) for d in page.data]
        if isinstance(page, Page):
            return Page[DeliveryWithAttempts](data=logged, next_cursor=page.next_cursor)
        return NumberedPage[DeliveryWithAttempts](
            data=logged, total=page.total, page=page.page, page_size=page.page_size
        )

    async def retry(self, delivery_id: str, *, tenant: str | None) -> Delivery:
        """Attempt now. A finished delivery gets one more (manual) attempt; a pending one stops
        waiting and keeps its remaining schedule. A delivery sent in a batch retries its
        batch."""
        async with self._db.write() as conn:
            current = await delivery_rows.get(conn, delivery_id, tenant_id=tenant)
            current = found(current, "delivery", delivery_id)
            if current.trigger == Trigger.TEST:
                raise Conflict(
                    f"delivery {delivery_id!r} was a test send, which goes once; send another "
                    "test (POST /api/v1/webhooks/{id}/test) instead"
                )
            _refuse_if_disabled(await _webhook(conn, current.webhook_id, None))
            if current.batch_id is not None:  # the batch goes again, whole (same webhook-id)
                delivery = await batch_rows.retry_batch(conn, current, now=self._clock())
            else:
                delivery = await delivery_rows.retry_now(
                    conn, delivery_id, tenant_id=tenant, now=self._clock()
                )
        self._on_requeue()
        return found(delivery, "delivery", delivery_id)

    async def finished(
        self,
        status: DeliveryStatus,
        *,
        since: datetime,
        until: datetime | None = None,
        webhook_id: str | None = None,
    ) -> list[str]:
        """The ids of the deliveries in `status` (failed or cancelled) created in [since,
        until) (until: now), of one webhook or all, oldest first: what `hookline deliveries
        retry` goes through, one `retry` each."""
        until = until or datetime.fromtimestamp(self._clock(), UTC)
        async with self._db.read() as conn:
            if webhook_id is not None:
                await _webhook(conn, webhook_id, None)
            return await delivery_rows.finished_ids(
                conn, status=status, since=since, until=until, webhook_id=webhook_id
            )

    async def cancel(
        self, delivery_id: str, spec: DeliveryCancel, *, tenant: str | None
    ) -> Delivery:
        """Stop a delivery that has not been sent: a pending one (not while an attempt of it is
        in flight), or the failed head that holds a FIFO webhook's queue (`fifo_on_failure:
        block`). Whatever waited behind it in a FIFO queue goes on. Cancelling a cancelled
        delivery changes nothing."""
        reason = "cancelled through the API" + (f": {spec.reason}" if spec.reason else "")
        async with self._db.write() as conn:
            current = await delivery_rows.get(conn, delivery_id, tenant_id=tenant)
            current = found(current, "delivery", delivery_id)
            if current.status == DeliveryStatus.CANCELLED:
                return current
            if current.status == DeliveryStatus.SUCCEEDED:
                raise Conflict(f"delivery {delivery_id!r} already succeeded; nothing to cancel")
            webhook = await _webhook(conn, current.webhook_id, None)
            holds_queue = current.ordered and webhook.fifo_on_failure == "block"
            if current.status == DeliveryStatus.FAILED and not holds_queue:
                raise Conflict(
                    f"delivery {delivery_id!r} already failed and holds nothing up; cancel "
                    "applies to pending deliveries and to the failed head of a FIFO webhook "
                    "with fifo_on_failure=block"
                )
            cancelled = await delivery_rows.cancel(
                conn, delivery_id, tenant_id=tenant, reason=reason, now=self._clock()
            )
            if not cancelled:
                raise Conflict(
                    f"delivery {delivery_id!r} is being attempted right now; cancel it again "
                    "once this attempt has ended if it is still pending"
                )
            delivery = await delivery_rows.get(conn, delivery_id, tenant_id=tenant)
        self._on_cancelled(1)
        self._on_requeue()  # a FIFO queue behind it may go on
        return found(delivery, "delivery", delivery_id)

    async def recover(
        self, webhook_id: str, spec: Recovery, *, tenant: str | None
    ) -> RecoveryResult:
        """Everything a webhook should have received in a time range and did not: its failed
        and cancelled deliveries get one more attempt, and matching events it never got a
        delivery for (while it was disabled, say) get one."""
        until = spec.until or datetime.fromtimestamp(self._clock(), UTC)
        async with self._db.write() as conn:
            webhook = await _webhook(conn, webhook_id, tenant)
            _refuse_if_disabled(webhook)
            since = max(spec.since, webhook.created_at)
            requeued = await delivery_rows.requeue_finished(
                conn, webhook_id, since=since, until=until, now=self._clock()
            )
            if requeued:  # a batch goes again whole, under one leader
                await batch_rows.requeue_whole(conn, webhook_id, now=self._clock())
        route = Route(
            webhook.id,
            webhook.tenant_id,
            frozenset(webhook.event_types),
            webhook.filter,
            webhook.ordering == "fifo",
        )
        created, after = 0, ""
        while True:  # in chunks, so ingest is never held up for long
            async with self._db.write() as conn:
                events = await event_rows.missed_by(
                    conn,
                    webhook_id,
                    webhook.tenant_id,
                    since=since,
                    until=until,
                    after=after,
                    limit=RECOVER_CHUNK,
                )
                at = self._clock()
                missed = [
                    fanout.delivery(route, event.id, event.type, at)
                    for event in events
                    if route.matches(event.type, None, event.envelope)
                ]
                await delivery_rows.insert_many(conn, missed)
            created += len(missed)
            if len(events) < RECOVER_CHUNK:
                break
            after = events[-1].id
        if requeued or created:
            self._on_requeue()
        return RecoveryResult(requeued=requeued, created=created)


async def _webhook(conn: AsyncConnection, webhook_id: str, tenant: str | None) -> Webhook:
    return found(await webhook_rows.get(conn, webhook_id, tenant_id=tenant), "webhook", webhook_id)
