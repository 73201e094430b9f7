"""Fan-out, pure: an event's envelope, and one delivery per webhook whose route matches it.

Every event hookline stores is built here, whoever makes it: `send` (ingest), operational notices,
recovery and test sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from hookline import ids
from hookline.errors import InvalidInput
from hookline.formats.jsonbody import dumps
from hookline.records import NewDelivery, NewEvent, Route


def iso_timestamp(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def envelope(event_id: str, event_type: str, data: Any, now: float) -> tuple[dict[str, Any], bytes]:
    """The JSON every standard delivery of an event carries, and its exact bytes."""
    document = {"id": event_id, "type": event_type, "timestamp": iso_timestamp(now), "data": data}
    try:
        payload = dumps(document)  # numbers as JSON.stringify writes them: docs/formats.md
    except TypeError as exc:
        raise InvalidInput(f"data is not serializable as JSON: {exc}") from None
    return document, payload


def event(
    event_type: str,
    data: Any,
    *,
    tenant_id: str | None,
    now: float,
    test: bool = False,
) -> tuple[NewEvent, dict[str, Any]]:
    """A new event of `tenant_id` (None: a broadcast), and its envelope."""
    event_id = ids.new_id(ids.EVENT, now)
    document, payload = envelope(event_id, event_type, data, now)
    return (
        NewEvent(
            id=event_id,
            tenant_id=tenant_id,
            type=event_type,
            payload=payload.decode(),
            created_at=now,
            test=test,
        ),
        document,
    )


def delivery(route: Route, event_id: str, event_type: str, now: float) -> NewDelivery:
    """The queue entry that sends one event to one webhook: due now, or for a batch webhook
    once it has waited the batch's longest wait (sooner when the batch fills up: see
    `store.batches.release_full_batches`). Its id sorts after every delivery made before it
    in this process: a FIFO webhook's order."""
    return NewDelivery(
        id=ids.sequential_id(ids.DELIVERY, now),
        event_id=event_id,
        webhook_id=route.webhook_id,
        tenant_id=route.tenant_id,
        event_type=event_type,
        created_at=now,
        next_attempt_at=now if route.batch is None else now + route.batch.max_wait,
        ordered=route.ordered,
    )


def deliveries(
    new: NewEvent, document: dict[str, Any], routes: Iterable[Route]
) -> list[NewDelivery]:
    """One delivery for every route that matches the event."""
    return [
        delivery(route, new.id, new.type, new.created_at)
        for route in routes
        if route.matches(new.type, new.tenant_id, document)
    ]
