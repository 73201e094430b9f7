from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query, Request, Response, status

from hookline.api.deps import Caller, Node, PageQuery, tenant_scope
from hookline.api.problems import problems
from hookline.api.routing import router as make_router
from hookline.errors import Forbidden
from hookline.models import Delivery, Event, EventSend, NumberedPage, Page, SentEvent
from hookline.tracing import carried_headers

router = make_router("/events", tags=["events"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send an event: stored durably, then fanned out to every matching webhook",
    response_description="Accepted: the event is committed and its deliveries are queued.",
    responses=problems(403, 404, 409),
)
async def send_event(
    spec: EventSend,
    node: Node,
    caller: Caller,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=256,
            description="Repeat a send safely: the same key within 24 h returns the first event.",
        ),
    ] = None,
) -> SentEvent:
    if caller.tenant_id is not None:
        if not node.settings.tenant_keys_can_send:
            raise Forbidden(
                "tenant keys cannot send events on this installation "
                "(the platform can allow it with HOOKLINE_TENANT_KEYS_CAN_SEND=true)"
            )
        own = await tenant_scope(node, caller, spec.tenant_id)
        spec = spec.model_copy(update={"tenant_id": own})
    sent = await node.service.events.send(
        spec, idempotency_key=idempotency_key, carried=carried_headers(request.headers)
    )
    if sent.duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    return sent


@router.get("", summary="List events, newest first", responses=problems(404))
async def list_events(
    node: Node,
    caller: Caller,
    paging: PageQuery,
    type: Annotated[str | None, Query(description="Only events of this type.")] = None,
    tenant_id: Annotated[str | None, Query(description="Only this tenant's (admin).")] = None,
) -> Page[Event] | NumberedPage[Event]:
    tenant = await tenant_scope(node, caller, tenant_id)
    return await node.service.events.list(tenant=tenant, event_type=type, paging=paging)


@router.get("/{event_id}", summary="Get an event")
async def get_event(event_id: str, node: Node, caller: Caller) -> Event:
    return await node.service.events.get(event_id, tenant=caller.tenant_id)


@router.get("/{event_id}/deliveries", summary="An event's deliveries, one per matched webhook")
async def list_event_deliveries(
    event_id: str, node: Node, caller: Caller, paging: PageQuery
) -> Page[Delivery] | NumberedPage[Delivery]:
    return await node.service.events.deliveries(event_id, tenant=caller.tenant_id, paging=paging)
