from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, status
from pydantic import AwareDatetime

from hookline.api.deps import Caller, Node, PageQuery, tenant_scope
from hookline.api.problems import problems
from hookline.api.routing import router as make_router
from hookline.models import (
    DeliveryStatus,
    DeliveryWithAttempts,
    NumberedPage,
    Page,
    Preview,
    Recovery,
    RecoveryResult,
    SecretRotation,
    Webhook,
    WebhookCreate,
    WebhookPreview,
    WebhookPublicKeys,
    WebhookStats,
    WebhookTest,
    WebhookTestResult,
    WebhookUpdate,
    WebhookWithSecret,
)

router = make_router("/webhooks", tags=["webhooks"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a webhook; the response holds its secret, shown this once",
    responses=problems(403, 404),
)
async def create_webhook(spec: WebhookCreate, node: Node, caller: Caller) -> WebhookWithSecret:
    return await node.service.webhooks.create(spec, tenant=caller.tenant_id)


@router.get("", summary="List webhooks, newest first", responses=problems(404))
async def list_webhooks(
    node: Node,
    caller: Caller,
    paging: PageQuery,
    tenant_id: Annotated[str | None, Query(description="Only this tenant's (admin).")] = None,
) -> Page[Webhook] | NumberedPage[Webhook]:
    tenant = await tenant_scope(node, caller, tenant_id)
    return await node.service.webhooks.list(tenant=tenant, paging=paging)


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


@router.post(
    "/{webhook_id}/rotate-secret",
    summary="Replace the signing secret; the old one keeps signing during a grace period",
)
async def rotate_secret(
    webhook_id: str, node: Node, caller: Caller, spec: SecretRotation | None = None
) -> WebhookWithSecret:
    return await node.service.webhooks.rotate_secret(
        webhook_id, spec or SecretRotation(), tenant=caller.tenant_id
    )


@router.get(
    "/{webhook_id}/public-key",
    summary="The public keys that verify an ed25519 (v1a) webhook's signatures",
    responses=problems(409),
)
async def webhook_public_keys(webhook_id: str, node: Node, caller: Caller) -> WebhookPublicKeys:
    return await node.service.webhooks.public_keys(webhook_id, tenant=caller.tenant_id)


@router.post(
    "/{webhook_id}/test",
    summary="Send a signed test event now and report the receiver's answer",
)
async def send_webhook_test(
    webhook_id: str, node: Node, caller: Caller, spec: WebhookTest | None = None
) -> WebhookTestResult:
    return await node.service.webhooks.send_test(
        webhook_id, spec or WebhookTest(), tenant=caller.tenant_id
    )


@router.post(
    "/{webhook_id}/preview",
    summary="The headers and exact body a delivery of an event would carry, sending nothing",
)
async def preview_webhook(
    webhook_id: str, spec: WebhookPreview, node: Node, caller: Caller
) -> Preview:
    return await node.service.webhooks.preview(webhook_id, spec, tenant=caller.tenant_id)


@router.get(
    "/{webhook_id}/deliveries",
    summary="A webhook's delivery log, newest first, each delivery with its attempts",
)
async def list_webhook_deliveries(
    webhook_id: str,
    node: Node,
    caller: Caller,
    paging: PageQuery,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    event_type: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[AwareDatetime | None, Query(description="Created at or after.")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Created before.")] = None,
) -> Page[DeliveryWithAttempts] | NumberedPage[DeliveryWithAttempts]:
    return await node.service.deliveries.for_webhook(
        webhook_id,
        tenant=caller.tenant_id,
        status=status,
        event_type=event_type,
        since=since,
        until=until,
        paging=paging,
    )


@router.post(
    "/{webhook_id}/recover",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send again everything the webhook missed in a time range",
    responses=problems(409),
)
async def recover_webhook(
    webhook_id: str, spec: Recovery, node: Node, caller: Caller
) -> RecoveryResult:
    return await node.service.deliveries.recover(webhook_id, spec, tenant=caller.tenant_id)


@router.get("/{webhook_id}/stats", summary="Health: counts, success rates, latency percentiles")
async def webhook_stats(webhook_id: str, node: Node, caller: Caller) -> WebhookStats:
    return await node.service.stats.for_webhook(webhook_id, tenant=caller.tenant_id)
