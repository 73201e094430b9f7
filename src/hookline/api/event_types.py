from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from hookline.api.deps import Admin, Caller, Cursor, Limit, Node
from hookline.models import EventType, EventTypeCreate, Page

router = APIRouter(prefix="/event-types", tags=["event types"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an event type (admin)")
async def create_event_type(spec: EventTypeCreate, node: Node, _: Admin) -> EventType:
    return await node.service.event_types.create(spec)


@router.get("", summary="The event types webhooks can subscribe to, by name")
async def list_event_types(
    node: Node,
    _: Caller,
    limit: Limit = None,
    cursor: Cursor = None,
    include_archived: Annotated[bool, Query()] = False,
) -> Page[EventType]:
    return await node.service.event_types.list(
        limit=limit, cursor=cursor, include_archived=include_archived
    )


@router.get("/{name}", summary="Get an event type")
async def get_event_type(name: str, node: Node, _: Caller) -> EventType:
    return await node.service.event_types.get(name)
