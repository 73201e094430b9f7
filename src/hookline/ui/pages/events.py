"""Events, an event's payload and deliveries, and the event type catalog."""

from __future__ import annotations

import json

from fastapi import Request
from starlette.responses import Response

from hookline.models import (
    MAX_PAGE_SIZE,
    NumberedPage,
    NumberedPaging,
)
from hookline.ui.access import current, node_of
from hookline.ui.pages.routing import (
    PAGE_SIZE,
    new_router,
)
from hookline.ui.render import page

router = new_router()


@router.get("/events")
async def events(request: Request, event_type: str = "", page_no: int = 1) -> Response:
    node = node_of(request)
    session = await current(request)
    page_no = max(1, min(page_no, 10_000))
    found = await node.service.events.list(
        tenant=session.tenant_id,
        event_type=event_type.strip() or None,
        paging=NumberedPaging(page=page_no, page_size=PAGE_SIZE),
    )
    assert isinstance(found, NumberedPage)
    return page(
        "events.html",
        node.settings,
        session,
        events=found.data,
        event_type=event_type,
        page_no=page_no,
        total=found.total,
        pages=max(1, -(-found.total // PAGE_SIZE)),
    )


@router.get("/events/{event_id}")
async def event_detail(event_id: str, request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    event = await node.service.events.get(event_id, tenant=session.tenant_id)
    sent = await node.service.events.deliveries(
        event_id, tenant=session.tenant_id, paging=NumberedPaging(page_size=MAX_PAGE_SIZE)
    )
    return page(
        "event.html",
        node.settings,
        session,
        event=event,
        payload=json.dumps(event.data, indent=2, ensure_ascii=False),
        deliveries=sent.data,
    )


@router.get("/event-types")
async def event_types(request: Request) -> Response:
    node = node_of(request)
    session = await current(request)
    found = await node.service.event_types.list(paging=NumberedPaging(page_size=MAX_PAGE_SIZE))
    return page(
        "event_types.html",
        node.settings,
        session,
        event_types=found.data,
        shown={
            t.name: {
                "schema": None
                if t.json_schema is None
                else json.dumps(t.json_schema, indent=2, ensure_ascii=False),
                "example": json.dumps(t.examples[0], indent=2, ensure_ascii=False)
                if t.examples
                else None,
            }
            for t in found.data
        },
    )
