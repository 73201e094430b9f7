from __future__ import annotations

from collections.abc import Callable

from hookline.errors import Conflict
from hookline.models import Attempt, Delivery, DeliveryStatus, Page
from hookline.service.common import clamp_limit, found, now
from hookline.store import Database
from hookline.store import attempts as attempt_rows
from hookline.store import deliveries as delivery_rows
from hookline.store import webhooks as webhook_rows


class Deliveries:
    def __init__(self, db: Database, *, on_requeue: Callable[[], None]) -> None:
        self._db = db
        self._on_requeue = on_requeue

    async def get(self, delivery_id: str, *, tenant: str | None) -> Delivery:
        async with self._db.read() as conn:
            delivery = await delivery_rows.get(conn, delivery_id, tenant_id=tenant)
        return found(delivery, "delivery", delivery_id)

    async def attempts(
        self,
        delivery_id: str,
        *,
        tenant: str | None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Attempt]:
        async with self._db.read() as conn:
            found(
                await delivery_rows.get(conn, delivery_id, tenant_id=tenant),
                "delivery",
                delivery_id,
            )
            return await attempt_rows.page_for_delivery(
                conn, delivery_id, limit=clamp_limit(limit), cursor=cursor
            )

    async def for_webhook(
        self,
        webhook_id: str,
        *,
        tenant: str | None,
        status: DeliveryStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Delivery]:
        async with self._db.read() as conn:
            found(await webhook_rows.get(conn, webhook_id, tenant_id=tenant), "webhook", webhook_id)
            return await delivery_rows.page(
                conn,
                tenant_id=tenant,
                webhook_id=webhook_id,
                status=status,
                limit=clamp_limit(limit),
                cursor=cursor,
            )

    async def retry(self, delivery_id: str, *, tenant: str | None) -> Delivery:
        """Attempt now. A finished delivery gets one more (manual) attempt; a pending one just
        stops waiting and keeps its remaining schedule."""
        async with self._db.write() as conn:
            current = await delivery_rows.get(conn, delivery_id, tenant_id=tenant)
            current = found(current, "delivery", delivery_id)
            webhook = await webhook_rows.get(conn, current.webhook_id, tenant_id=None)
            if webhook is not None and not webhook.is_active:
                raise Conflict(
                    f"webhook {webhook.id!r} is disabled ({webhook.disabled_reason}); "
                    "re-enable it (PATCH is_active=true) before retrying its deliveries"
                )
            delivery = await delivery_rows.retry_now(conn, delivery_id, tenant_id=tenant, now=now())
        self._on_requeue()
        return found(delivery, "delivery", delivery_id)
