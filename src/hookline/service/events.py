from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hookline import filters
from hookline.ingest import Ingestor
from hookline.models import (
    FIRST_PAGE,
    CursorPaging,
    Delivery,
    Event,
    EventSend,
    NumberedPage,
    Page,
    Paging,
    SentEvent,
)
from hookline.service.common import found
from hookline.store import Database
from hookline.store import deliveries as delivery_rows
from hookline.store import events as event_rows
from hookline.tracing import Tracing


@dataclass(frozen=True, slots=True)
class FilterTrial:
    """An event, and whether a payload filter lets it through."""

    event: Event
    matched: bool


class Events:
    def __init__(self, db: Database, ingestor: Ingestor, tracing: Tracing) -> None:
        self._db = db
        self._ingestor = ingestor
        self._tracing = tracing

    async def send(
        self,
        spec: EventSend,
        *,
        idempotency_key: str | None = None,
        carried: Mapping[str, str] | None = None,
    ) -> SentEvent:
        """Store an event and fan it out; returns once it is committed. An `Idempotency-Key`
        header (`idempotency_key`) wins over the body's field. `carried`: the W3C trace headers
        of the request, the parent of the send's span when traces are on."""
        span = self._tracing.send(spec.type, carried or {})
        try:
            sent = await self._ingestor.send(
                spec.type,
                spec.data,
                tenant_id=spec.tenant_id,
                idempotency_key=idempotency_key or spec.idempotency_key,
                trace=span.trace,
            )
        except BaseException as exc:
            span.failed(exc)
            raise
        span.sent(sent)
        return sent

    async def get(self, event_id: str, *, tenant: str | None) -> Event:
        async with self._db.read() as conn:
            return found(await event_rows.get(conn, event_id, tenant_id=tenant), "event", event_id)

    async def try_filter(
        self,
        filter_doc: object,
        *,
        tenant: str | None,
        event_types: list[str],
        last: int = 20,
    ) -> list[FilterTrial]:
        """Which of the last `last` events of `event_types` (empty: any) a webhook of `tenant`
        with this payload filter would get, newest first; an invalid filter raises
        InvalidInput saying what to fix, as saving it would."""
        checked = filters.validate(filter_doc)
        async with self._db.read() as conn:
            found_events = await event_rows.recent(
                conn, tenant_id=tenant, event_types=event_types, limit=last
            )
        return [
            FilterTrial(event, filters.matches(checked, envelope))
            for event, envelope in found_events
        ]

    async def list(
        self,
        *,
        tenant: str | None,
        event_type: str | None = None,
        paging: Paging = FIRST_PAGE,
    ) -> Page[Event] | NumberedPage[Event]:
        async with self._db.read() as conn:
            return await event_rows.page(
                conn, tenant_id=tenant, event_type=event_type, paging=paging
            )

    async def deliveries(
        self,
        event_id: str,
        *,
        tenant: str | None,
        paging: Paging = FIRST_PAGE,
    ) -> Page[Delivery] | NumberedPage[Delivery]:
        async with self._db.read() as conn:
            # A tenant sees a broadcast event through its own deliveries only.
            if tenant is None:
                found(await event_rows.get(conn, event_id, tenant_id=None), "event", event_id)
            page = await delivery_rows.page(
                conn, tenant_id=tenant, event_id=event_id, paging=paging
            )
        first = paging.cursor is None if isinstance(paging, CursorPaging) else paging.page == 1
        if tenant is not None and not page.data and first:
            await self.get(event_id, tenant=tenant)  # 404 unless it is the tenant's own event
        return page
