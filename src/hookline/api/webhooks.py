from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from hookline.api.deps import Caller, Cursor, Limit, Node, tenant_scope
from hookline.models import (
    Delivery,
    DeliveryStatus,
    Page,
    Webhook,
    WebhookCreate,
    WebhookUpdate,
    WebhookWithSecret,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a webhook; the response holds its secret, shown this once",
)
async def create_webhook(spec: WebhookCreate, node: Node, caller: Caller) -> WebhookWithSecret:
    return await node.service.webhooks.create(spec, tenant=caller.tenant_id)


@router.get("", summary="List webhooks, newest first")
async def list_webhooks(
    node: Node,
    caller: Caller,
    limit: Limit = None,
    cursor: Cursor = None,
    tenant_id: Annotated[str | None, Query(description="Only this tenant's (admin).")] = None,
) -> Page[Webhook]:
    tenant = await tenant_scope(node, caller, tenant_id)
    return await node.service.webhooks.list(tenant=tenant, limit=limit, cursor=cursor)


@router.get("/{webhook_id}", summary="Get a webhook")
async def get_webhook(webhook_id: str, node: Node, caller: Caller) -> Webhook:
    return await node.service.webhooks.get(webhook_id, tenant=caller.tenant_id)


@router.patch("/{webhook_id}", summary="Change a webhook; only the fields sent are changed")
async def update_webhook(
    webhook_id: str, spec: WebhookUpdate, node: Node, caller: Caller
) -> Webhook:
    return await node.service.webhooks.update(webhook_id, spec, tenant=caller.tenant_id)


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook with its deliveries",
)
async def delete_webhook(webhook_id: str, node: Node, caller: Caller) -> Response:
    await node.service.webhooks.delete(webhook_id, tenant=caller.tenant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", summary="A webhook's deliveries, newest first")
async def list_webhook_deliveries(
    webhook_id: str,
    node: Node,
    caller: Caller,
    limit: Limit = None,
    cursor: Cursor = None,
    status: Annotated[DeliveryStatus | None, Query()] = None,
) -> Page[Delivery]:
    return await node.service.deliveries.for_webhook(
        webhook_id, tenant=caller.tenant_id, status=status, limit=limit, cursor=cursor
    )
