from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status

from hookline.api.deps import Admin, Caller, Node, PageQuery
from hookline.api.problems import problems
from hookline.api.routing import router as make_router
from hookline.models import EventType, EventTypeCreate, EventTypeUpdate, NumberedPage, Page

router = make_router("/event-types", tags=["event types"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an event type (admin)",
    responses=problems(409),
)
async def create_event_type(spec: EventTypeCreate, node: Node, _: Admin) -> EventType:
    return await node.service.event_types.create(spec)


@router.get("", summary="The event types webhooks can subscribe to, by name")
async def list_event_types(
    node: Node,
    _: Caller,
    paging: PageQuery,
    include_archived: Annotated[bool, Query()] = False,
) -> Page[EventType] | NumberedPage[EventType]:
    return await node.service.event_types.list(paging=paging, include_archived=include_archived)


@router.get("/{name}", summary="Get an event type")
async def get_event_type(name: str, node: Node, _: Caller) -> EventType:
    return await node.service.event_types.get(name)


@router.patch(
    "/{name}", summary="Change an event type's description, schema or archived flag (admin)"
)
async def update_event_type(name: str, spec: EventTypeUpdate, node: Node, _: Admin) -> EventType:
    return await node.service.event_types.update(name, spec)


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Archive an event type: no new events of it are accepted (admin)",
)
async def archive_event_type(name: str, node: Node, _: Admin) -> Response:
    await node.service.event_types.archive(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
